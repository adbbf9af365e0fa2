/**
 * This library's durable pool on Redis (`RedisStore`). Prefetch 256: with
 * warmed-up consumers, 64, 256 and 512 alternating on one server (3 rounds
 * each), medians 39,286 / 55,368 / 64,702 jobs/s with one consumer and
 * 43,179 / 53,973 / 53,941 with two; 512 was not better with two and
 * leases twice the jobs per process. (With fresh processes, 64 had been the
 * best with one consumer.)
 */
import * as RedisStore from "../../../src/durable/RedisStore.ts"
import { durablePool, type Setup } from "./pool.ts"

/** The store and the settings (`../loadSteps.ts` makes its consumer from them too). */
export const redisSetup: Setup = { connect: (url) => RedisStore.make({ url }), settings: { workers: 32, prefetch: 256 } }

export const poolRedis = durablePool("effect-worker-pool (Redis)", "redis", redisSetup)
