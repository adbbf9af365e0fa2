/** The refusal of a payload too large for a store, as every engine words it (`src/durable/payloadSize.ts`). */
export const refusal = /^the payload of "big" is (\d+) bytes of JSON, over the (\w+) store's limit of (\d+) bytes$/
