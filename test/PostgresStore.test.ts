/**
 * The PostgreSQL store against a real server, in real time: the store
 * contract, then what only a server can do to it (be unreachable or slow to
 * start, hang, die mid-run and come back, serve several pools of connections
 * at once) and what only this engine does (its own counts, batches planned
 * with their values).
 */
import { assert, describe, it } from "@effect/vitest"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import { Duration, Effect, Fiber, Queue, Redacted } from "effect"
import * as Net from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as Sql from "../src/durable/postgres/statements.ts"
import * as PgEngine from "../src/durable/postgres/store.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { freePort, type ManagedServer, type PlainServer, startPostgres, startPostgresServer } from "./support/servers.ts"
import { pgRows } from "./support/admin.ts"
import { connecting, retentionRun, storeContract, storeLayerContract } from "./support/storeContract.ts"

// One server for the contract and the tests that do not hurt it; the tests
// that kill a server, or need one without the table, start their own.
let shared: PlainServer | undefined
beforeAll(async () => {
  shared = await startPostgresServer()
}, 60_000)
afterAll(() => shared?.close())

const makeShared = Effect.suspend(() => PostgresStore.make({ url: shared!.url }))

let lastQueue = 0
const queueName = () => `pg-${process.pid}-${Date.now()}-${++lastQueue}`
const jobs = (n: number, prefix = "j") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, payload: { n: i } }))
const minute = Duration.minutes(1)

/** Runs `effect`, failing the test if it takes longer than `ms`: "promptly", not "eventually". */
const within = <A, E, R>(ms: number, what: string, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.die(new Error(`${what} took over ${ms} ms`)) }))

/**
 * Crashes `server` like a lost host. `kill()` reaches every backend too (each
 * has a process group of its own), so none goes on answering its connection.
 */
const crash = (server: ManagedServer) => server.kill()

storeContract("postgres", { make: makeShared, elapse: (ms) => Effect.sleep(ms), test: it.live })
storeLayerContract("postgres", { url: () => shared!.url, layer: PostgresStore.layer, layerConfig: PostgresStore.layerConfig })

describe("PostgresStore", () => {
  it.live("an unreachable server (closed port) fails make with StoreError \"connect\" at connectTimeout", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const started = Date.now()
      const error = yield* within(
        3_000,
        "make",
        Effect.flip(connecting(PostgresStore.make({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeout: 500 })))
      )
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "connect")
      assert.include(error.reason, "ECONNREFUSED")
      assert.isAtLeast(Date.now() - started, 450, "gave up before connectTimeout")
    }))

  it.live("a refusal is not tried again: a wrong database fails make at once", () =>
    Effect.gen(function*() {
      const error = yield* within(
        2_000,
        "make",
        Effect.flip(connecting(PostgresStore.make({ url: shared!.url.replace(/\/postgres$/, "/nope"), connectTimeout: 10_000 })))
      )
      assert.strictEqual(error.operation, "connect")
      assert.include(error.reason, "nope")
    }))

  it.live("make waits for a server that is starting, within connectTimeout", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      yield* crash(server)
      const making = yield* Effect.forkChild(PostgresStore.make({ url: server.url, connectTimeout: 20_000 }))
      yield* Effect.sleep(300)
      yield* server.start
      const store = yield* Fiber.join(making)
      assert.deepStrictEqual(yield* store.counts(queueName()), { ready: 0, leased: 0, completed: 0, buried: 0 })
    }), 60_000)

  it.live("a server that hangs fails operations at commandTimeout; they succeed again once it answers", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const store = yield* PostgresStore.make({ url: server.url, commandTimeout: 300 })
      const queue = queueName()
      yield* store.offer(queue, jobs(2))
      // SIGSTOP: connections stay open, the kernel still takes the bytes, nothing answers.
      server.pause()
      const started = Date.now()
      const error = yield* Effect.flip(store.claim(queue, 1, minute)).pipe(
        Effect.ensuring(Effect.andThen(Effect.sleep(100), Effect.sync(server.resume))),
        Effect.forkChild,
        Effect.flatMap(Fiber.join),
        (effect) => within(10_000, "claim on a hung server", effect)
      )
      assert.strictEqual(error.operation, "claim")
      assert.isBelow(Date.now() - started, 2_000, "not prompt")
      server.resume()
      // The claim that timed out may have happened after all (its job would
      // come back when its lease runs out): so at least one job is there.
      assert.isAtLeast((yield* store.claim(queue, 2, minute)).length, 1)
      const counts = yield* store.counts(queue)
      assert.strictEqual(counts.ready + counts.leased, 2)
    }), 60_000)

  it.live("a server that accepts but never answers fails make within connectTimeout", () =>
    Effect.gen(function*() {
      // A socket that takes connections and says nothing: a hung server, a
      // full backlog, a proxy with nothing behind it.
      const sockets = new Set<Net.Socket>()
      const silent = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Net.Server>((resolve) => {
            const server = Net.createServer((socket) => {
              sockets.add(socket)
            })
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) =>
          Effect.promise(() =>
            new Promise<void>((resolve) => {
              for (const socket of sockets) socket.destroy()
              server.close(() => resolve())
            })
          )
      )
      const port = (silent.address() as Net.AddressInfo).port
      const started = Date.now()
      const error = yield* within(
        3_000,
        "make",
        Effect.flip(connecting(PostgresStore.make({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeout: 300 })))
      )
      assert.strictEqual(error.operation, "connect")
      assert.include(error.reason, "no answer within")
      assert.isAtLeast(Date.now() - started, 250, "failed before the timeout: not the timeout that failed it")
    }))

  it.live("two processes starting at once both create the table, neither fails", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const stores = yield* Effect.all(
        Array.from({ length: 6 }, () => PostgresStore.make({ url: server.url })),
        { concurrency: "unbounded" }
      )
      const queue = queueName()
      yield* stores[0]!.offer(queue, jobs(3))
      assert.strictEqual((yield* stores[5]!.counts(queue)).ready, 3)
    }), 60_000)

  it.live("a process starting does not wait for the others' running statements", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      // Another process in the middle of a write: the table is locked for
      // writing until it ends (as it is, briefly, all the time under load).
      const other = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      yield* other.query("BEGIN")
      yield* other.query(`UPDATE ${PostgresStore.table} SET attempts = attempts WHERE queue = $1`, [queue])
      yield* within(2_000, "make while another transaction writes", PostgresStore.make({ url: shared!.url }))
      yield* other.query("ROLLBACK")
    }))

  it.live("cancelWaiting passes over the waiting jobs another transaction holds (a claim's), without waiting, and counts only what it cancelled", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, [...jobs(3), { id: "later", payload: 3, delay: 60_000 }])
      // A claim in the middle of its statement: it has locked j0 and "later" and not yet moved them.
      const other = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      yield* other.query("BEGIN")
      yield* other.query(`SELECT 1 FROM ${PostgresStore.table} WHERE queue = $1 AND id IN ('j0', 'later') FOR UPDATE`, [queue])
      assert.strictEqual(yield* within(2_000, "cancelWaiting beside a claim's locks", store.cancelWaiting!(queue, 10)), 2)
      yield* other.query("ROLLBACK")
      const states = yield* Effect.forEach(["j0", "j1", "j2", "later"], (id) => Effect.map(store.lookup(queue, id), (job) => job?.state))
      assert.deepStrictEqual(states, ["ready", "cancelled", "cancelled", "ready"])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 0, completed: 0, buried: 0 })
    }))

  it.live("the server killed mid-run: operations fail promptly, then succeed again after restart, data kept", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const store = yield* PostgresStore.make({ url: server.url, connectTimeout: 1_000 })
      const queue = queueName()
      yield* store.offer(queue, jobs(5))
      const claimed = yield* store.claim(queue, 2, minute)
      yield* store.complete(queue, [claimed[0]!])

      yield* crash(server)
      const failures = yield* within(
        5_000,
        "operations on a dead server",
        Effect.all([
          Effect.flip(store.offer(queue, jobs(1, "x"))),
          Effect.flip(store.claim(queue, 1, minute)),
          Effect.flip(store.complete(queue, [claimed[1]!])),
          Effect.flip(store.counts(queue)),
          Effect.flip(store.buried(queue, 10))
        ])
      )
      assert.deepStrictEqual(failures.map((error) => [error._tag, error.operation]), [
        ["StoreError", "offer"],
        ["StoreError", "claim"],
        ["StoreError", "complete"],
        ["StoreError", "counts"],
        ["StoreError", "buried"]
      ])
      // What asks for nothing asks no server: it succeeds while the server is down.
      yield* within(1_000, "empty batches on a dead server", Effect.all([
        store.offer(queue, []),
        store.complete(queue, []),
        store.release(queue, []),
        store.extend(queue, [], minute),
        store.claim(queue, 0, minute),
        store.buried(queue, 0)
      ]))

      yield* server.start
      // The same store, without being made again: the pool reconnects.
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 3, leased: 1, completed: 1, buried: 0 })
      // The lease taken before the crash is still good (its token survived with the row).
      yield* store.complete(queue, [claimed[1]!])
      const rest = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(rest.map((job) => job.id), ["j2", "j3", "j4"])
      yield* store.complete(queue, rest)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 5, buried: 0 })
    }), 60_000)

  it.live("a lease that runs out (200 ms, real time) is reclaimed by another store, as the next attempt", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* makeShared, yield* makeShared]
      const queue = queueName()
      yield* a.offer(queue, jobs(1))
      const [first] = yield* a.claim(queue, 1, Duration.millis(200))
      assert.strictEqual(first?.attempt, 1)
      assert.deepStrictEqual(yield* b.claim(queue, 1, minute), [], "claimed while leased")
      yield* Effect.sleep(300)
      const [second] = yield* b.claim(queue, 1, minute)
      assert.strictEqual(second?.id, "j0")
      assert.strictEqual(second?.attempt, 2)
      assert.notStrictEqual(second?.token, first!.token)
      // The first holder's acknowledgement comes too late: it must not count.
      yield* a.complete(queue, [first!])
      yield* a.extend(queue, [first!], minute)
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
      yield* b.complete(queue, [second!])
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    }))

  it.live("a stale or made-up token ends nothing", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(2))
      const [first, other] = yield* store.claim(queue, 2, minute)
      // Retried: the lease is over, its token with it.
      yield* store.retry(queue, first!, Duration.zero)
      yield* store.complete(queue, [first!, { id: other!.id, token: "not-a-token" }, { id: "nope", token: first!.token }])
      // Tokens PostgreSQL could not hold (NUL, half a surrogate pair) end nothing, and fail nothing.
      yield* store.complete(queue, [{ id: other!.id, token: "a\0b" }, { id: other!.id, token: "\ud800" }])
      yield* store.release(queue, [{ id: other!.id, token: "a\0b" }, { id: other!.id, token: "\ud800" }])
      // Not held: answered, and nothing renewed.
      assert.deepStrictEqual(yield* store.extend(queue, [{ id: other!.id, token: "a\0b" }], minute), [other!.id])
      yield* store.bury(queue, first!, "stale")
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 1, completed: 0, buried: 0 })
      // A second complete of the same lease is a no-op too.
      yield* store.complete(queue, [other!])
      yield* store.complete(queue, [other!])
      yield* store.release(queue, [other!])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 1, buried: 0 })
      const [again] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(again?.attempt, 2)
    }))

  it.live("a lease ends at the place its claim left the row, or by its id once the row moved; the place alone ends nothing", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(3))
      const [moved0, moved1, expired] = yield* store.claim(queue, 3, Duration.millis(200))
      // Renewed: these two rows are no longer where the claim left them.
      yield* store.extend(queue, [moved0!, moved1!], minute)
      yield* Effect.sleep(300)
      const [held] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(held?.id, expired!.id, "the lease that ran out, claimed again")
      // The old lease's token at the new lease's place: the row there holds another token.
      const atHeldPlace = `${Sql.splitToken(expired!.token).stored}@${Sql.splitToken(held!.token).place}`
      // A token whose place is not one the store writes is not the store's token.
      const junkPlace = `${Sql.splitToken(moved0!.token).stored}@junk`
      yield* store.complete(queue, [{ id: expired!.id, token: atHeldPlace }, { id: moved0!.id, token: junkPlace }])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 3, completed: 0, buried: 0 })
      // One batch: two rows that moved, one where its claim left it.
      yield* store.complete(queue, [moved0!, moved1!, held!])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 3, buried: 0 })
      assert.strictEqual((yield* store.lookup(queue, expired!.id))?.state, "completed")
    }))

  it.live("a completed job keeps its id, priority and attempts, not its payload nor its settings", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const payload = { text: "x".repeat(1_000) }
      yield* store.offer(queue, [{ id: "done", payload, priority: 3, settings: "kept until the end" }, { id: "buried", payload }])
      const claimed = yield* store.claim(queue, 2, minute)
      yield* store.complete(queue, claimed.filter((job) => job.id === "done"))
      yield* store.bury(queue, claimed.find((job) => job.id === "buried")!, "failed")
      const rows = yield* Effect.orDie(pgRows(
        shared!.url,
        `SELECT id, payload::text, settings FROM ${Sql.table} WHERE queue = '${queue}' ORDER BY id`
      ))
      assert.deepStrictEqual(rows, [["buried", JSON.stringify(payload).replace(":", ": "), null], ["done", "null", null]])
      assert.deepStrictEqual(yield* store.lookup(queue, "done"), {
        id: "done",
        state: "completed",
        attempts: 1,
        priority: 3,
        runAt: undefined,
        error: undefined
      })
      assert.deepStrictEqual(yield* store.offer(queue, [{ id: "done", payload }]), [], "not stored again")
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 1 })
    }))

  it.live("a claim and a completion write a job's new row versions on its own page: pages are filled only half on insert", () =>
    Effect.gen(function*() {
      // A database of its own: a new table, its pages filled by this test alone.
      const database = `pages_${process.pid}_${++lastQueue}`
      yield* Effect.orDie(pgRows(shared!.url, `CREATE DATABASE ${database}`))
      const url = shared!.url.replace(/\/postgres$/, `/${database}`)
      const store = yield* PostgresStore.make({ url })
      const queue = queueName()
      /** Each job's page in the table, by id. */
      const pages = Effect.map(
        Effect.orDie(pgRows(url, `SELECT id, (ctid::text::point)[0]::int FROM ${Sql.table} WHERE queue = '${queue}'`)),
        (rows) => new Map(rows.map(([id, page]) => [id as string, page as number]))
      )
      const n = 400
      yield* store.offer(queue, jobs(n))
      const offered = yield* pages
      const claimed = yield* store.claim(queue, n, minute)
      const leased = yield* pages
      yield* store.complete(queue, claimed)
      const completed = yield* pages
      const kept = (after: Map<string, number>) => [...offered].filter(([id, page]) => after.get(id) === page).length
      // On full pages every new version would go to another page (written
      // whole, and the old one logged as locked): measured, none kept its page.
      assert.isAtLeast(kept(leased), n / 2, "claimed on their page")
      assert.isAtLeast(kept(completed), n / 2, "completed on their page")
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: n, buried: 0 })
    }))

  it.live("a lease's token is short: 16 random characters and a slash (its claim's), then the job's seq", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(2))
      const claimed = yield* store.claim(queue, 2, minute)
      const rows = yield* Effect.orDie(pgRows(
        shared!.url,
        `SELECT token, seq::text FROM ${Sql.table} WHERE queue = '${queue}' ORDER BY seq`
      ))
      const [first, second] = rows.map(([token]) => token as string)
      // Each row is written with it, and each claimed job carries it: a UUID wrote 30 bytes of WAL more a job.
      assert.match(first!, /^[A-Za-z0-9_-]{16}\/\d+$/)
      assert.deepStrictEqual(rows.map(([token, seq]) => (token as string).endsWith(`/${seq}`)), [true, true])
      assert.strictEqual(first!.split("/")[0], second!.split("/")[0], "one claim, one token")
      assert.deepStrictEqual(claimed.map((job) => Sql.splitToken(job.token).stored), [first, second])
    }))

  it("a claim's token is the next 12 bytes drawn, in base64url and a slash; bytes are drawn again once all are cut", () => {
    let draws = 0
    // Each draw fills the buffer with bytes that say which draw and which place they come from.
    const byteAt = (draw: number, place: number) => (place + 7 * draw) % 256
    const next = PgEngine.tokenSource((bytes) => {
      draws++
      for (let i = 0; i < bytes.length; i++) bytes[i] = byteAt(draws, i)
    })
    assert.strictEqual(draws, 0, "nothing is drawn before the first token")
    const expected = (draw: number, k: number) =>
      `${Buffer.from(Array.from({ length: 12 }, (_, j) => byteAt(draw, 12 * k + j))).toString("base64url")}/`
    const tokens = Array.from({ length: 2 * PgEngine.tokensPerDraw + 1 }, next)
    assert.strictEqual(draws, 3)
    assert.deepStrictEqual(tokens, [
      ...Array.from({ length: PgEngine.tokensPerDraw }, (_, k) => expected(1, k)),
      ...Array.from({ length: PgEngine.tokensPerDraw }, (_, k) => expected(2, k)),
      expected(3, 0)
    ])
    for (const token of tokens) assert.match(token, /^[A-Za-z0-9_-]{16}\/$/)
  })

  it.live("every claim's token is its own, across the random bytes drawn for many claims at a time", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const claims = 2 * PgEngine.tokensPerDraw + 1
      yield* store.offer(queue, jobs(claims))
      const tokens = new Set<string>()
      for (let i = 0; i < claims; i++) {
        const [job] = yield* store.claim(queue, 1, minute)
        const token = Sql.splitToken(job!.token).stored.split("/")[0]!
        assert.match(token, /^[A-Za-z0-9_-]{16}$/)
        tokens.add(token)
      }
      assert.strictEqual(tokens.size, claims)
    }))

  it.live("says a claim made while another is in flight reads past that one's jobs (overlappingClaimsCostly), through its boundary", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      assert.isTrue(store.overlappingClaimsCostly)
    }))

  it.live("two stores (two pools) claiming concurrently never get the same job", () =>
    Effect.gen(function*() {
      const stores = [yield* makeShared, yield* makeShared]
      const queue = queueName()
      const total = 3_000
      yield* stores[0]!.offer(queue, jobs(total))
      const seen: Array<string> = []
      // Four claimers per store: more than one connection of each pool at work.
      const drain = (store: Store) =>
        Effect.gen(function*() {
          while (true) {
            const claimed = yield* store.claim(queue, 25, minute)
            if (claimed.length === 0) return
            for (const job of claimed) seen.push(job.id)
            yield* store.complete(queue, claimed)
          }
        })
      yield* Effect.all(stores.flatMap((store) => Array.from({ length: 4 }, () => drain(store))), {
        concurrency: "unbounded"
      })
      assert.strictEqual(new Set(seen).size, seen.length, "a job was claimed twice")
      assert.strictEqual(seen.length, total)
      assert.deepStrictEqual(yield* stores[1]!.counts(queue), { ready: 0, leased: 0, completed: total, buried: 0 })
    }), 60_000)

  it.live("counts agree with the rows after concurrent claims, retries, releases, burials, expiries", () =>
    Effect.gen(function*() {
      const stores = [yield* makeShared, yield* makeShared]
      const queue = queueName()
      yield* stores[0]!.offer(queue, [...jobs(300), ...jobs(50)]) // 50 duplicates
      yield* stores[1]!.offer(queue, jobs(100, "k"))
      // Deterministic choices (an LCG), so a failure replays.
      let seed = 42
      const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
      const worker = (store: Store) =>
        Effect.gen(function*() {
          for (let round = 0; round < 30; round++) {
            // Some leases are left to run out, to be claimed again by another worker.
            const claimed = yield* store.claim(queue, 1 + Math.floor(next() * 10), Duration.millis(50))
            if (claimed.length === 0) yield* Effect.sleep(60)
            const done = []
            for (const job of claimed) {
              const pick = next()
              if (pick < 0.4) done.push(job)
              else if (pick < 0.55) yield* store.retry(queue, job, Duration.millis(20))
              else if (pick < 0.7) yield* store.release(queue, [job])
              else if (pick < 0.75) yield* store.bury(queue, job, "no")
              else if (pick < 0.85) yield* store.extend(queue, [job], Duration.millis(10))
              // else: dropped, its lease runs out
            }
            // The same lease twice in one call counts once.
            yield* store.complete(queue, [...done, ...done.slice(0, 1)])
          }
        })
      yield* Effect.all(stores.flatMap((store) => [worker(store), worker(store), worker(store)]), {
        concurrency: "unbounded"
      })
      const rows = yield* PgConnection.make({ url: Redacted.make(shared!.url) }).pipe(
        Effect.flatMap((connection) =>
          connection.queryValues(`SELECT state, count(*)::int FROM ${PostgresStore.table} WHERE queue = $1 GROUP BY state`, [
            queue
          ])
        )
      )
      const recount = { ready: 0, leased: 0, completed: 0, buried: 0 }
      // A job waiting for its retry's delay is scheduled, and counts as ready.
      for (const [state, count] of rows) {
        recount[(state === "scheduled" ? "ready" : state) as keyof typeof recount] += count as number
      }
      assert.strictEqual(recount.ready + recount.leased + recount.completed + recount.buried, 400)
      assert.isAbove(recount.completed, 0)
      assert.isAbove(recount.buried, 0)
      assert.deepStrictEqual(yield* stores[0]!.counts(queue), recount)
    }), 60_000)

  it.live("after N jobs end and their retention passes, the queue holds O(1): no job rows, a counter row per shard at most", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const rows = (sql: string) => Effect.map(Effect.orDie(pgRows(shared!.url, sql)), ([row]) => row![0] as number)
      const footprint = rows(`SELECT count(*)::int FROM ${PostgresStore.table} WHERE queue = '${queue}'`)
      const { counts, peak } = yield* retentionRun(store, queue, 600, footprint, 0)
      assert.isAbove(peak, 300, "the ended jobs were there before their retention passed")
      assert.deepStrictEqual(counts, { ready: 0, leased: 0, completed: 588, buried: 0 })
      assert.isAtMost(yield* rows(`SELECT count(*)::int FROM ${PostgresStore.countsTable} WHERE queue = '${queue}'`), 16)
    }), 60_000)

  it.live("batches of thousands: one claim, one extend, one release, one complete each", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(3_000))
      const claimed = yield* store.claim(queue, 3_000, Duration.millis(500))
      assert.strictEqual(claimed.length, 3_000)
      assert.strictEqual(new Set(claimed.map((job) => job.token)).size, 3_000, "each lease has its own token")
      yield* store.extend(queue, claimed, minute)
      yield* Effect.sleep(600)
      assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [], "an extended lease ran out")
      // A batch mixing held leases, stale tokens and unknown ids ends only the held ones.
      const [released, completed] = [claimed.slice(0, 1_000), claimed.slice(1_000)]
      const stale = completed.slice(0, 500).map((job, i) => ({ id: job.id, token: claimed[(i + 1) % 3_000]!.token }))
      yield* store.release(queue, [...released, ...stale, { id: "nope", token: claimed[0]!.token }])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1_000, leased: 2_000, completed: 0, buried: 0 })
      yield* store.complete(queue, [...completed, ...released])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1_000, leased: 0, completed: 2_000, buried: 0 })
    }), 60_000)

  it.live("payloads round-trip as JSON; a duplicate id within one batch keeps the first", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const payloads = [null, 0, -1.5, "text with 'quotes' and ünïcödé ✓", [1, [2, { a: null }]], { nested: { deep: [true] } }]
      yield* store.offer(queue, [
        ...payloads.map((payload, i) => ({ id: `p${i}`, payload })),
        { id: "p0", payload: "a duplicate in the same batch" }
      ])
      const claimed = yield* store.claim(queue, 100, minute)
      assert.deepStrictEqual(claimed.map((job) => job.payload), payloads)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: payloads.length, completed: 0, buried: 0 })
    }))

  // An id's text is refused alike by every store, at the boundary (the contract suite); here, the engine's own rule for payloads and settings.
  it.live("text PostgreSQL cannot store (NUL, half a surrogate pair) in a payload or id is refused by name, nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const refusal = (jobs: Parameters<Store["offer"]>[1]) => Effect.map(Effect.flip(store.offer(queue, jobs)), (e) => e.reason)
      const nul = "contains the NUL character (\\u0000), which PostgreSQL cannot store"
      const half = "contains half of a UTF-16 surrogate pair, which PostgreSQL cannot store"
      assert.deepStrictEqual(
        [
          yield* refusal([{ id: "ok", payload: 1 }, { id: "nul", payload: { note: "a\u0000b" } }]),
          yield* refusal([{ id: "key", payload: { ["a\u0000"]: 1 } }]),
          yield* refusal([{ id: "slash", payload: "\\\u0000" }]), // a backslash, then NUL
          yield* refusal([{ id: "n\u0000l", payload: 1 }]),
          yield* refusal([{ id: "high", payload: ["a\ud800b"] }]),
          yield* refusal([{ id: "low\udc00", payload: 1 }]),
          yield* refusal([{ id: "ok", payload: 1, settings: "fine" }, { id: "own", payload: 1, settings: "a\u0000b" }]),
          yield* refusal([{ id: "half", payload: 1, settings: "\udc00" }])
        ],
        [
          `the payload of nul ${nul}`,
          `the payload of key ${nul}`,
          `the payload of slash ${nul}`,
          `the job id "n\\u0000l" must not contain the NUL character (\\u0000), which not every store can keep`,
          `the payload of high ${half}`,
          `the job id "low\\udc00" must not contain half of a UTF-16 surrogate pair, which not every store can keep`,
          // Refused on every store (`offeredFields.ts`), before the engine's own check.
          `job "own" has settings that must not contain the NUL character (\\u0000), which not every store can keep`,
          `job "half" has settings that must not contain half of a UTF-16 surrogate pair, which not every store can keep`
        ]
      )
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 0, buried: 0 })
      // Look-alikes are ordinary text: a backslash then "u0000", a whole surrogate pair, a control character.
      const plain = ["\\u0000", "\\\\ud800", "😀", "tab\tbell\u0007"]
      yield* store.offer(queue, plain.map((payload, i) => ({ id: `plain${i}😀`, payload })))
      const claimed = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.payload]), plain.map((payload, i) => [`plain${i}😀`, payload]))
    }))

  it.live("a payload PostgreSQL would write back over what a claim delivers (numbers with an exponent, in full) is refused by name, nothing stored; a few such numbers are kept", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      // 420 kB of JSON that jsonb writes back as 18.7 MB, over the 16 MiB less a row's room a claim delivers.
      const huge = Array.from({ length: 60_000 }, () => 1e308)
      const error = yield* Effect.flip(store.offer(queue, [{ id: "fine", payload: 1 }, { id: "huge", payload: huge }]))
      assert.deepStrictEqual([error.operation, error.retryable], ["offer", false])
      assert.match(error.reason, /^the payload of huge would come back as up to \d+ bytes of JSON \(PostgreSQL writes each number with an exponent out in full\), over the \d+ bytes this store can deliver$/)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 0, buried: 0 })
      const some = { sizes: [1e308, 1e-7, 1.5e21], text: "1e300 in a string" }
      yield* store.offer(queue, [{ id: "some", payload: some }])
      assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => [job.id, job.payload]), [["some", some]])
    }))

  it.live("a dead-letter error with NUL in it is stored without it (sent, PostgreSQL would refuse it, and the job would come back for ever)", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, [{ id: "x", payload: 1 }])
      const [claimed] = yield* store.claim(queue, 1, minute)
      yield* store.bury(queue, claimed!, "died: a\u0000b")
      assert.deepStrictEqual((yield* store.buried(queue, 10)).map((job) => job.error), ["died: ab"])
    }))

  it.live("dead letters buried at one instant (one transaction's) are paged in their order, none skipped nor listed twice", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      // Offered in one order, so that their seqs rise with their ids; buried at one ended_at.
      yield* store.offer(queue, Array.from({ length: 7 }, (_, i) => ({ id: `t${i}`, payload: i })))
      yield* Effect.orDie(pgRows(
        shared!.url,
        `UPDATE ${Sql.table} SET state = 'buried', ended_at = timestamptz '2026-01-01 00:00:00.000001+00', error = 'no'
         WHERE queue = '${queue}'`
      ))
      const ids = ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]
      let after: string | undefined
      const pages: Array<ReadonlyArray<string>> = []
      for (let page = yield* store.buried(queue, 3); page.length > 0; page = yield* store.buried(queue, 3, undefined, after)) {
        pages.push(page.map((job) => job.id))
        after = page.at(-1)!.cursor
        assert.match(after!, /^1767225600000001\.[0-9]+$/)
      }
      assert.deepStrictEqual(pages, [ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)])
    }))

  it.live("an empty claim, full or ready-only, and due, read a few pages of a queue of 20,000 jobs waiting for their time (EXPLAIN ANALYZE BUFFERS)", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      for (let i = 0; i < 20_000; i += 5_000) {
        yield* store.offer(queue, Array.from({ length: 5_000 }, (_, k) => ({ id: `w${i + k}`, payload: 0, delay: 3_600_000 + i + k })))
      }
      // The planner's defaults, as on the application's client (the store's
      // own pool turns sequential and bitmap scans off), with statistics and without.
      const connection = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      const pages = (statement: string) =>
        Effect.map(connection.queryValues(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE ${statement}`), ([[plan]]) => {
          const top = (plan as ReadonlyArray<{ readonly Plan: Record<string, number> }>)[0]!.Plan
          return top["Shared Hit Blocks"]! + top["Shared Read Blocks"]!
        })
      yield* connection.queryValues(`PREPARE claim(text, int4, float8, text, int4) AS ${Sql.claimSql}`)
      yield* connection.queryValues(`PREPARE ready(text, int4, float8, text, int4) AS ${Sql.claimReadySql}`)
      yield* connection.queryValues(`PREPARE due(text) AS ${Sql.dueSql}`)
      const literal = `'${queue}'`
      for (const analyzed of [false, true]) {
        if (analyzed) yield* connection.queryValues(`ANALYZE ${PostgresStore.table}`)
        // From the sixth run on, a prepared statement may run a generic plan.
        for (let run = 0; run < 7; run++) {
          const claim = yield* pages(`claim(${literal}, 10, 60000, 't/', 1048576)`)
          const ready = yield* pages(`ready(${literal}, 10, 60000, 't/', 1048576)`)
          const due = yield* pages(`due(${literal})`)
          assert.isAtMost(claim, 30, `an empty claim read ${claim} pages (run ${run}, analyzed: ${analyzed})`)
          assert.isAtMost(ready, 20, `an empty ready-only claim read ${ready} pages (run ${run}, analyzed: ${analyzed})`)
          assert.isAtMost(due, 10, `due read ${due} pages (run ${run}, analyzed: ${analyzed})`)
        }
      }
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 20_000, leased: 0, completed: 0, buried: 0 })
      const left = yield* store.due!(queue)
      assert.isAbove(left!, 3_000_000)
    })), 60_000)

  it.live("a claim takes a bounded batch of due jobs beyond its max and promotes the rest to ready, in order, counts unchanged", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, Array.from({ length: 150 }, (_, i) => ({ id: `d${i}`, payload: i, delay: 50 + i / 10 })))
      yield* Effect.sleep("200 millis")
      const byState = `SELECT state, count(*)::int FROM ${PostgresStore.table} WHERE queue = '${queue}' GROUP BY state`
      const states = Effect.map(Effect.orDie(pgRows(shared!.url, byState)), (rows) => Object.fromEntries(rows))
      assert.deepStrictEqual((yield* store.claim(queue, 1, minute)).map((job) => job.id), ["d0"])
      assert.deepStrictEqual(yield* states, { leased: 1, ready: Sql.dueBatch - 1, scheduled: 150 - Sql.dueBatch })
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 149, leased: 1, completed: 0, buried: 0 })
      assert.strictEqual(yield* store.due!(queue), 0, "the rest are still waiting to be found")
      const rest = yield* store.claim(queue, 200, minute)
      assert.deepStrictEqual(rest.map((job) => job.id), Array.from({ length: 149 }, (_, i) => `d${i + 1}`))
      assert.strictEqual(yield* store.due!(queue), undefined)
    }))

  it.live("a ready-only claim takes the ready jobs, counted, and says what due would; it leaves a lease that ran out and a due job to the full claim", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const readyOnly = { readyOnly: true }
      yield* store.offer(queue, jobs(1, "expired"))
      yield* store.claim(queue, 1, Duration.millis(1))
      yield* store.offer(queue, [{ id: "due0", payload: 0, delay: 1 }, { id: "later0", payload: 0, delay: 60_000 }])
      yield* store.offer(queue, [{ id: "low0", payload: 0, priority: 5 }, ...jobs(2, "ready")])
      yield* Effect.sleep(50)
      const taken = yield* store.claim(queue, 10, minute, readyOnly)
      assert.deepStrictEqual(taken.map((job) => job.id), ["ready0", "ready1", "low0"], "ready jobs only, by priority")
      assert.deepStrictEqual(taken.map((job) => job.attempt), [1, 1, 1])
      assert.strictEqual(taken.due?.untilDue, 0, "a scheduled job is due now: the worker claims again at once")
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 4, completed: 0, buried: 0 })
      // The full claim takes the lease that ran out, then the due job, and reads the later one's time.
      const rest = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(rest.map((job) => job.id), ["expired0", "due0"])
      assert.deepStrictEqual(rest.map((job) => job.attempt), [2, 1])
      assert.isAbove(rest.due!.untilDue!, 50_000)
      // Nothing ready: an empty ready-only claim still reads due.
      const none = yield* store.claim(queue, 10, minute, readyOnly)
      assert.deepStrictEqual([...none], [])
      assert.isAbove(none.due!.untilDue!, 50_000)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 5, completed: 0, buried: 0 })
      yield* store.complete(queue, [...taken, ...rest])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 5, buried: 0 })
    }))

  it.live("a claim that locked ready jobs it did not take notifies: a claim it made come back short is woken, not left to its poll", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* makeShared
      const queue = queueName()
      yield* a.offer(queue, jobs(1, "expired"))
      yield* a.claim(queue, 1, Duration.millis(1))
      yield* a.offer(queue, jobs(1, "ready"))
      yield* Effect.sleep(50)
      // A store made now hears only what commits from here on.
      const b = yield* makeShared
      const next = yield* b.listen!(queue)
      const connection = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      yield* connection.queryValues("BEGIN")
      // One job: the lease that ran out goes first; the ready job is locked and left.
      const held = yield* connection.queryValues(Sql.claimSql, [queue, 1, 60_000, "held/", 1 << 20])
      assert.deepStrictEqual(held.map((row) => row[0]), ["expired0"])
      assert.deepStrictEqual(yield* b.claim(queue, 10, minute), [], "the ready job was skipped as locked")
      yield* connection.queryValues("COMMIT")
      yield* Effect.timeoutOrElse(next, {
        duration: "5 seconds",
        orElse: () => Effect.die(new Error("no notification from the claim that left a ready job locked"))
      })
      assert.deepStrictEqual((yield* b.claim(queue, 10, minute)).map((job) => job.id), ["ready0"])
    })))

  it.live("an empty claim, and one that takes every candidate it locked, notify nobody", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const listener = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      const heard = yield* listener.listen(Sql.wakeupChannel)
      const other = yield* PgConnection.make({ url: Redacted.make(shared!.url) })
      yield* store.offer(queue, jobs(2)) // notifies once
      yield* store.claim(queue, 10, minute) // takes both: nothing left locked
      yield* store.claim(queue, 10, minute) // empty
      yield* other.queryValues(`SELECT pg_notify('${Sql.wakeupChannel}', 'marker')`)
      const payloads: Array<string> = []
      while (payloads.at(-1) !== "marker") payloads.push((yield* Queue.take(heard)).payload)
      // Notifications are delivered in the order their transactions committed.
      assert.deepStrictEqual(payloads, [queue, "marker"], "a claim that left nothing locked notified")
    })))

  it.live("a delayed offer, a delayed retry and a snooze notify the queue's listeners, as every offer and retry does", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const next = yield* store.listen!(queue)
      const heard = (what: string) =>
        Effect.timeoutOrElse(next, { duration: "20 seconds", orElse: () => Effect.die(new Error(`no notification for ${what}`)) })
      yield* store.offer(queue, [{ id: "later", payload: 1, delay: 60_000 }, { id: "now", payload: 2, runAt: 0 }])
      yield* heard("the delayed offer")
      const [claimed] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(claimed?.id, "now")
      yield* store.retry(queue, claimed!, Duration.minutes(1))
      yield* heard("the retry with a delay")
      assert.isAbove((yield* store.due!(queue))!, 50_000)
      // A snooze (a retry whose attempt is given back) notifies as a retry does.
      yield* store.offer(queue, [{ id: "snoozing", payload: 3, runAt: 0 }])
      yield* heard("the offer of the job to snooze")
      const [snoozing] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(snoozing?.id, "snoozing")
      yield* store.retry(queue, snoozing!, Duration.minutes(1), { attemptGivenBack: true })
      yield* heard("the snooze with a delay")
    })))

  it.live("times beyond what PostgreSQL holds are kept as the farthest it does: a delay of 1e300 ms, a runAt of ±1e300", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, [
        { id: "never", payload: 0, delay: Number.MAX_VALUE },
        { id: "far", payload: 0, runAt: 1e300 },
        { id: "past", payload: 0, runAt: -1e300 }
      ])
      const year = 365.25 * 24 * 3600 * 1000
      const runAt = (id: string) => Effect.map(store.lookup(queue, id), (info) => info!.runAt!.getTime())
      assert.isAbove(yield* runAt("never"), Date.now() + 999 * year)
      assert.isAbove(yield* runAt("far"), Date.now() + 999 * year)
      assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["past"])
    }))

  it.live("queues are separate", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const [q1, q2] = [queueName(), queueName()]
      yield* store.offer(q1, jobs(2))
      yield* store.offer(q2, jobs(1))
      assert.strictEqual((yield* store.claim(q2, 10, minute)).length, 1)
      assert.deepStrictEqual(yield* store.counts(q1), { ready: 2, leased: 0, completed: 0, buried: 0 })
    }))
})
