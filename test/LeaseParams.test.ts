/**
 * How a PostgreSQL lease's token is read when its job ends: split into the
 * token stored in the row and the row's place (`splitToken`), and a batch's
 * tokens made the parameters of the statement that ends them
 * (`leaseParams`). Both are read a character at a time; these tests hold
 * them to the rule as a pattern states it, on tokens of any shape.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { leaseParams, splitToken } from "../src/durable/postgres/statements.ts"
import { unstorableText } from "../src/durable/postgres/text.ts"

/** The rule: after the last `@`, `(block,offset)` of 1-10 and 1-5 digits, at most 2^32 - 1 and 2^16 - 1. */
const placePattern = /^\((\d{1,10}),(\d{1,5})\)$/

const splitByPattern = (token: string) => {
  const at = token.lastIndexOf("@")
  const match = at < 0 ? null : placePattern.exec(token.slice(at + 1))
  return match === null || Number(match[1]) > 4_294_967_295 || Number(match[2]) > 65_535
    ? { stored: token, place: undefined }
    : { stored: token.slice(0, at), place: token.slice(at + 1) }
}

/** The parameters by the rule: every storable token a key of the JSON object, every place in the array. */
const paramsByRule = (tokens: ReadonlyArray<string>) => {
  const split = tokens.map(splitByPattern)
  const keys = split.filter(({ stored }) => unstorableText(stored) === undefined).map(({ stored }) => `${JSON.stringify(stored)}:0`)
  return [
    tokens.map((_, i) => `job-${i}`),
    `{${keys.join(",")}}`,
    split.flatMap(({ place }) => place === undefined ? [] : [place])
  ]
}

/** Characters a token's reading turns on, and some it must pass through as they are. */
const tricky = fc.constantFrom("@", "(", ")", ",", "0", "1", "9", "/", ":", "A", "z", "-", "_", "\"", "\\", "\u0000", "\ud800", "\udfff", "é", " ")

/** Digits around the bounds (none, up to 12, the largest of each part and one more), and the characters either side of them. */
const digits = fc.oneof(
  fc.stringMatching(/^\d{0,12}$/),
  fc.constantFrom("4294967295", "4294967296", "0004294967295", "65535", "65536", "0", "00000", "000000"),
  fc.string({ unit: fc.constantFrom("0", "5", "9", "/", ":"), maxLength: 6 })
)

/** What ends a place: its parenthesis, or a near miss. */
const closing = fc.constantFrom(")", ")", "", "]", "1")

/** Tokens as the store gives them out, near misses of that shape, and any text. */
const token = fc.oneof(
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{16}\/\d{1,6}$/), digits, digits, closing)
    .map(([stored, block, offset, close]) => `${stored}@(${block},${offset}${close}`),
  fc.tuple(fc.string({ unit: tricky }), fc.string({ unit: tricky }), digits, digits, closing, fc.string({ unit: tricky, maxLength: 2 }))
    .map(([stored, mid, block, offset, close, tail]) => `${stored}@${mid}(${block},${offset}${close}${tail}`),
  fc.string({ unit: tricky }),
  fc.string({ unit: "binary-ascii" }),
  fc.string({ unit: "binary" })
)

describe("a lease's token, read at its end", () => {
  it("splitToken splits every token as the pattern does", () => {
    fc.assert(fc.property(token, (token) => assert.deepStrictEqual(splitToken(token), splitByPattern(token))), {
      numRuns: 20_000
    })
  })

  it("leaseParams gives the ids, the storable tokens as JSON keys and the places, as the rule does", () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 20 }), (tokens) =>
        assert.deepStrictEqual(leaseParams(tokens.map((token, i) => ({ id: `job-${i}`, token }))), paramsByRule(tokens))),
      { numRuns: 5_000 }
    )
  })

  it("a token as the store gives it out, its place at each bound", () => {
    assert.deepStrictEqual(splitToken("AbCdEfGhIjKlMn-_/42@(4294967295,65535)"), {
      stored: "AbCdEfGhIjKlMn-_/42",
      place: "(4294967295,65535)"
    })
    for (const beyond of ["(4294967296,1)", "(1,65536)", "(12345678901,1)", "(1,123456)", "(,1)", "(1,)", "(1,2)x", "(1,2", "(1,23", "1,2)", "(1:,2)", "(1,/2)", "(1;2)", "(-1,2)"]) {
      assert.deepStrictEqual(splitToken(`t@${beyond}`), { stored: `t@${beyond}`, place: undefined }, beyond)
    }
    assert.deepStrictEqual(splitToken("a@b@(3,4)"), { stored: "a@b", place: "(3,4)" })
  })

  it("a token PostgreSQL cannot hold is left out of the keys; one with quotes or backslashes is escaped", () => {
    const [ids, keys, places] = leaseParams([
      { id: "plain", token: "AbC_-9/7@(1,1)" },
      { id: "nul", token: "a\u0000b@(1,2)" },
      { id: "half", token: "a\ud800@(1,3)" },
      { id: "quoted", token: "say \"hi\" \\ there@(1,4)" }
    ])
    assert.deepStrictEqual(ids, ["plain", "nul", "half", "quoted"])
    assert.strictEqual(keys, "{\"AbC_-9/7\":0,\"say \\\"hi\\\" \\\\ there\":0}")
    assert.deepStrictEqual(JSON.parse(keys), { "AbC_-9/7": 0, "say \"hi\" \\ there": 0 })
    assert.deepStrictEqual(places, ["(1,1)", "(1,2)", "(1,3)", "(1,4)"])
  })
})
