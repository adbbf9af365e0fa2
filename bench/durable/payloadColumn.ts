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
 * then the migration's own cost: a table of `rows` jobs as version 4 kept
 * them (small payloads, its two indexes, half-full pages) altered to `json`.
 * The whole statements only, not the rest of an offer or a claim; printed
 * only, its figures quoted in `results-durable.md`'s notes.
 */
import { parseArgs } from "node:util"
import pg from "pg"
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

/** Milliseconds to alter a table of `rows` jobs kept as version 4 kept them from `jsonb` to `json`. */
const migration = async (client: pg.Client, rows: number) => {
  await client.query(`DROP TABLE IF EXISTS jobs;
    CREATE TABLE jobs (queue text NOT NULL, id text NOT NULL, payload jsonb NOT NULL, state text NOT NULL,
      visible_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, queue)) WITH (fillfactor = 50)`)
  await client.query(`INSERT INTO jobs (queue, id, payload, state)
    SELECT 'q', 'job-' || n, jsonb_build_object('n', n, 'to', 'ada@example.com'), 'ready' FROM generate_series(1, $1::int) AS n`, [rows])
  await client.query(`CREATE INDEX ON jobs (queue, visible_at) WHERE state = 'ready'`)
  await client.query("VACUUM ANALYZE jobs")
  const started = performance.now()
  await client.query(`ALTER TABLE jobs ALTER COLUMN payload TYPE json USING payload::json`)
  return performance.now() - started
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
  process.stdout.write(`migration of ${integer(rows)} jobs from jsonb to json: ${integer(await migration(client, rows))} ms\n`)
} finally {
  await client.end()
  await server.close()
}
process.exit(0)
