/** A handler module whose `schema` export is not a record of schemas. */
export { handler } from "./threadJobs.ts"

export const schema = { payload: "not a schema" }
