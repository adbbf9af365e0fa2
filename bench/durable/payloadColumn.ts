/**
 * `node bench/durable/payloadColumn.ts [--rounds 4] [--jobs 50000] [--rows 1000000]`:
 * what keeping payloads as `json` (schema version 5) costs against `jsonb`
 * (the versions before), on one local server, the two alternating (the
 * first swapping each round), for a payload of a few bytes (the durable
 * benchmark's `{ n }`) and one of about 1.5 kB (an order of 40 lines):
 *
 * - offering: `jobs` payloads inserted from a `text[]` cast to the column's
 *   type, 1,000 a statement, as the offer statement does;
 * - reading: the same rows read back as text, 1,000 a statement, as a
 *   claim returns them;
 *
 * then what changing the column costs: the store's own jobs table (made by
 * `PostgresStore.make`, every index of it), filled with `rows` small jobs,
 * altered to `json`, a rewrite of the table under its strongest lock. The
 * whole statements only, not the rest of an offer or a claim; printed
 * only, its figures quoted in `results-durable.md`'s notes and the README's
 * design notes (why the column is still `jsonb`).
 */
import { parseArgs } from "node:util"
import { Effect } from "effect"
import pg from "pg"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import { startPostgresServer } from "../../test/support/servers.ts"
import { orderOfRound } from "../kit/alternation.ts"
import { integer, summarize } from "../kit/numbers.ts"

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    jobs: { type: "string", default: "50000" },
    rows: { type: "string", default: "1000000" }
  }
})
const rounds = Number(values.rounds)
const jobs = Number(values.jobs)
const batch = 1_000

const payloads = {
  "a few bytes": JSON.stringify({ n: 1 }),
  "1.5 kB": JSON.stringify({
    user: "ada@example.com",
    items: Array.from({ length: 40 }, (_, i) => ({ sku: `sku-${i}`, qty: i, price: i * 1.25 }))
  })
}
const types = ["json", "jsonb"] as const

/** Milliseconds to offer `jobs` copies of `payload` into a new table of `type`, and to read them back as text. */
const measure = async (client: pg.Client, type: string, payload: string) => {
  await client.query(`DROP TABLE IF EXISTS payloads; CREATE TABLE payloads (id bigserial PRIMARY KEY, payload ${type} NOT NULL)`)
  const texts = Array.from({ length: batch }, () => payload)
  let started = performance.now()
  for (let done = 0; done < jobs; done += batch) {
    await client.query(`INSERT INTO payloads (payload) SELECT text::${type} FROM unnest($1::text[]) AS text`, [texts])
  }
  const offer = performance.now() - started
  started = performance.now()
  for (let done = 0; done < jobs; done += batch) {
    await client.query(`SELECT payload::text FROM payloads WHERE id > $1 AND id <= $1 + ${batch}`, [done])
  }
  return { offer, read: performance.now() - started }
}

/** Milliseconds to alter the store's jobs table, holding `rows` small jobs, from `jsonb` to `json`. */
const migration = async (client: pg.Client, url: string, rows: number) => {
  await Effect.runPromise(Effect.scoped(Effect.asVoid(PostgresStore.make({ url }))))
  await client.query(
    `INSERT INTO ${PostgresStore.table} (queue, id, payload)
    SELECT 'q', 'job-' || n, jsonb_build_object('n', n, 'to', 'ada@example.com') FROM generate_series(1, $1::int) AS n`,
    [rows]
  )
  await client.query(`VACUUM ANALYZE ${PostgresStore.table}`)
  const indexes = await client.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = '${PostgresStore.table}'`)
  const started = performance.now()
  await client.query(`ALTER TABLE ${PostgresStore.table} ALTER COLUMN payload TYPE json USING payload::json`)
  return { ms: performance.now() - started, indexes: indexes.rows[0].n as number }
}

const server = await startPostgresServer()
const client = new pg.Client({ connectionString: server.url })
await client.connect()
try {
  for (const [size, payload] of Object.entries(payloads)) {
    const times = new Map(types.map((type) => [type, { offer: [] as Array<number>, read: [] as Array<number> }]))
    for (let round = 0; round < rounds; round++) {
      for (const type of orderOfRound(round, types)) {
        const run = await measure(client, type, payload)
        times.get(type)!.offer.push(run.offer)
        times.get(type)!.read.push(run.read)
      }
    }
    for (const type of types) {
      const { offer, read } = times.get(type)!
      process.stdout.write(
        `${size} (${payload.length} bytes), ${type}: offering ${integer(jobs)} ${integer(summarize(offer).median)} ms, ` +
          `reading them back ${integer(summarize(read).median)} ms (medians of ${rounds})\n`
      )
    }
  }
  const rows = Number(values.rows)
  const altered = await migration(client, server.url, rows)
  process.stdout.write(
    `the store's jobs table (${altered.indexes} indexes) holding ${integer(rows)} jobs, altered from jsonb to json: ${integer(altered.ms)} ms\n`
  )
} finally {
  await client.end()
  await server.close()
}
process.exit(0)
