/**
 * The schemas of `schemaThreadJobs.ts`, imported by both sides: the test
 * gives them to `Threads.make` as `schema`, the handler module exports them.
 * Classes, so that a value that crossed without its schema would be seen
 * to have lost its class.
 */
import { Schema } from "effect"
import * as Transferable from "effect/workers/Transferable"

/** A payload whose bytes are moved to the thread by their schema (`Transferable.Uint8Array`). */
export class Square extends Schema.Class<Square>("Square")({ side: Schema.Number, bytes: Transferable.Uint8Array }) {
  get area(): number {
    return this.side * this.side
  }
}

export class Area extends Schema.Class<Area>("Area")({ value: Schema.Number, bytes: Schema.Number }) {}

export class TooBig extends Schema.TaggedError<TooBig>()("TooBig", { side: Schema.Number }) {}

export const schema = { payload: Square, success: Area, failure: TooBig }
