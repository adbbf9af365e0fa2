/**
 * This library's durable pool on Redis (`RedisStore`). Prefetch 64: of 32,
 * 64, 128 and 256 tried (5 runs each), the best with one consumer; 256 was
 * better with two, but every setting stayed far ahead of BullMQ.
 */
import * as RedisStore from "../../../src/durable/RedisStore.ts"
import { durablePool } from "./pool.ts"

export const poolRedis = durablePool(
  "effect-worker-pool (Redis)",
  "redis",
  (url) => RedisStore.make({ url }),
  { workers: 32, prefetch: 64 }
)
