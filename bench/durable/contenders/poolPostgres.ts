/**
 * This library's durable pool on PostgreSQL (`PostgresStore`). Prefetch 256:
 * of 32, 64, 128, 256 and 512 tried (4–5 runs each), 256 and 512 were best
 * and about equal; 256 keeps fewer jobs leased per process (288) than
 * pg-boss holds in hand with its batches (up to 1,000).
 */
import * as PostgresStore from "../../../src/durable/PostgresStore.ts"
import { durablePool } from "./pool.ts"

export const poolPostgres = durablePool(
  "effect-worker-pool (PostgreSQL)",
  "postgres",
  (url) => PostgresStore.make({ url }),
  { workers: 32, prefetch: 256 }
)
