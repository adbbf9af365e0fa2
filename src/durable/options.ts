/**
 * The checks the stores import from here, taken from the one vocabulary,
 * `../internal/options.ts`, which every other entry point imports directly.
 *
 * @internal
 */
export { checked, field, nonStringId, record, storeUrl, timeoutOption } from "../internal/options.ts"
