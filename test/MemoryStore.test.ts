/**
 * The in-memory store keeps the store contract, under the TestClock.
 */
import { it } from "@effect/vitest"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { storeContract } from "./support/storeContract.ts"

storeContract("memory", { make: MemoryStore.make, elapse: (ms) => TestClock.adjust(ms), test: it.effect })
