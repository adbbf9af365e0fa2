/**
 * Whether a payload can be sent to a thread, checked when it is submitted,
 * so that one that cannot is refused then, with a typed error, rather than
 * accepted and then dying on its way to the thread.
 *
 * The check is V8's own serializer, the one `postMessage` uses, writing to
 * a buffer that is thrown away. The payload's transferables are marked as
 * transferred, so that the check does not copy their contents either.
 * Primitives are not checked: they always clone.
 *
 * @internal
 */
import * as V8 from "node:v8"

/**
 * V8's serializer as `postMessage` configures it for shared memory: a
 * `SharedArrayBuffer` (and a view over one) is shared with the thread, not
 * copied, where the bare serializer refuses it.
 */
class SharingSerializer extends V8.Serializer {
  #shared = 0
  _getSharedArrayBufferId(): number {
    return this.#shared++
  }
}

/** Why `payload` cannot be sent to a thread, or `undefined` when it can. */
export const whyNotCloneable = (payload: unknown, transfer: ReadonlyArray<unknown>): string | undefined => {
  if (typeof payload === "symbol") return "a symbol cannot be sent to a thread"
  if (typeof payload !== "object" && typeof payload !== "function") return undefined
  if (payload === null) return undefined
  const serializer = new SharingSerializer()
  serializer.writeHeader()
  let id = 0
  for (const item of transfer) if (item instanceof ArrayBuffer) serializer.transferArrayBuffer(id++, item)
  try {
    serializer.writeValue(payload)
    return undefined
  } catch (cause) {
    return `cannot be sent to a thread (${cause instanceof Error ? cause.message : String(cause)})`
  }
}
