/**
 * A shutdown policy as a pool uses it: the user's partial policy checked
 * and laid over the pool's own, its timeout decoded.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import { defaultPolicy, type Policy } from "../Shutdown.ts"
import { checked, duration, type Invalid, oneOf, policy, zeroOrMore } from "./options.ts"

/** A policy whose timeout has been decoded. */
export interface Resolved {
  readonly timeout: Duration.Duration
  readonly backlog: "drain" | "return"
}

/** The default policy, decoded. */
export const defaultResolved: Resolved = {
  timeout: Duration.fromInputUnsafe(defaultPolicy.timeout),
  backlog: defaultPolicy.backlog
}

/**
 * Applies `overrides` on top of `base`, each field read once and checked;
 * an `Invalid` names the wrong one (`"shutdown.timeout"`) and says why.
 */
export const resolve = (base: Resolved, overrides: Partial<Policy> | undefined): Resolved | Invalid =>
  overrides === undefined ? base : checked("shutdown", () => {
    const { backlog, timeout } = policy("shutdown", overrides)!
    return {
      timeout: timeout === undefined ? base.timeout : duration("shutdown.timeout", timeout, zeroOrMore),
      backlog: backlog === undefined ? base.backlog : oneOf("shutdown.backlog", backlog, ["drain", "return"])
    }
  })
