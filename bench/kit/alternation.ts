/**
 * How the benchmarks take turns: contenders (or checkouts) measured one
 * after the other, round after round, each going first as often as the
 * others, so that a machine slowing down or warming up through a run does
 * not favour whoever always comes first or last.
 */
import { fileURLToPath } from "node:url"

/** `items` in the order of round `round` (from 0): as given, then reversed, in turn. */
export const orderOfRound = <A>(round: number, items: ReadonlyArray<A>): ReadonlyArray<A> =>
  round % 2 === 0 ? items : [...items].reverse()

/** The directory of this checkout, for the A/B tools that run it against another one. */
export const thisCheckout = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "")
