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
import { messageOf } from "../options.ts"

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

/**
 * Why `transfer` (what `transfer` gave for a payload) cannot be moved to a
 * thread, or `undefined` when it can: each item an `ArrayBuffer` not
 * already moved, and none twice (`whyNotCloneable` moves those only).
 * `postMessage` refuses any other list, and then not only the job fails:
 * its thread ends.
 */
export const whyNotTransferable = (transfer: ReadonlyArray<unknown>): string | undefined => {
  // The common case, checked at every submit: nothing moved, nothing to allocate.
  if (transfer.length === 0) return undefined
  const seen = new Set<unknown>()
  for (let i = 0; i < transfer.length; i++) {
    const item = transfer[i]
    if (seen.has(item)) return `lists the same item twice (at ${i})`
    seen.add(item)
    if (!(item instanceof ArrayBuffer)) return `gave ${kindOf(item)} at ${i}: only an ArrayBuffer can be moved to a thread`
    if ((item as { readonly detached?: boolean }).detached === true) return `gave an ArrayBuffer already moved (detached) at ${i}`
  }
  return undefined
}

/** What `item` is, for a refusal: never its contents. */
const kindOf = (item: unknown): string =>
  item === null
    ? "null"
    : typeof item !== "object"
    ? typeof item
    : ArrayBuffer.isView(item)
    ? `a view (${item.constructor.name}; move its .buffer)`
    : "an object that is not an ArrayBuffer"

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
    return `cannot be sent to a thread (${messageOf(cause)})`
  }
}
