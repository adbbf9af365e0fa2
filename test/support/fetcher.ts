/**
 * Fetchers under test (`src/durable/fetcher.ts`): one started on a store
 * with a lease book of its own, and a store whose claims the test answers
 * by hand, in any order.
 */
import { Deferred, Duration, Effect, Exit, Scope } from "effect"
import * as Fetcher from "../../src/durable/fetcher.ts"
import * as Leases from "../../src/durable/leases.ts"
import { type Claimed, type ClaimedJobs, type Store, StoreError, withDue } from "../../src/durable/Store.ts"
import type { PoolClosedError } from "../../src/Pool.ts"

/** How a test's fetcher differs from the default one (a book of 2, a poll each second, no second claim, a pool that takes all). */
export interface FetcherOptions {
  readonly capacity?: number
  readonly pipelineAt?: number
  readonly claimAtMost?: number
  readonly pollInterval?: Duration.Duration
  readonly deliver?: (payload: unknown) => Effect.Effect<unknown, PoolClosedError>
}

/** A fetcher on `store` in `scope`, on queue "q", and its lease book. */
export const startFetcher = (store: Store, scope: Scope.Scope, options: FetcherOptions = {}) =>
  Effect.gen(function*() {
    const book = yield* Leases.make({ capacity: options.capacity ?? 2, maxAttempts: 3, retryable: () => true })
    const fetcher = yield* Fetcher.start({
      store,
      queue: "q",
      lease: Duration.seconds(30),
      pollInterval: options.pollInterval ?? Duration.seconds(1),
      book,
      decode: Exit.succeed,
      pipelineAt: options.pipelineAt,
      claimAtMost: options.claimAtMost,
      deliver: options.deliver ?? (() => Effect.void)
    }, scope)
    return { book, fetcher }
  })

/** `healthy`, except that each claim waits until the test answers it (`answer`, `fail`), claim i counted from 0. */
export const answeredByHand = (healthy: Store) => {
  const claims: Array<{ readonly max: number; readonly answer: Deferred.Deferred<ClaimedJobs, StoreError> }> = []
  let made = 0
  const store: Store = {
    ...healthy,
    claim: (_queue, max) =>
      Effect.suspend(() => {
        const answer = Deferred.makeUnsafe<ClaimedJobs, StoreError>()
        claims.push({ max, answer })
        return Deferred.await(answer)
      })
  }
  /** Answers claim i with `n` new jobs and, if given, its reading of due. */
  const answer = (i: number, n: number, untilDue?: number) => {
    const jobs: Array<Claimed> = Array.from({ length: n }, () => ({ id: `job-${++made}`, payload: made, attempt: 1, token: "t" }))
    Deferred.doneUnsafe(claims[i]!.answer, Exit.succeed(untilDue === undefined ? jobs : withDue(jobs, untilDue)))
  }
  /** Fails claim i, as a store out of service would. */
  const fail = (i: number) =>
    Deferred.doneUnsafe(claims[i]!.answer, Exit.fail(new StoreError({ operation: "claim", reason: "connection refused" })))
  /** Closes `scope` once every claim left has answered (empty): a claim in flight holds up the close, as it should. */
  const close = (scope: Scope.Closeable) =>
    Effect.suspend(() => {
      claims.forEach((claim) => Deferred.doneUnsafe(claim.answer, Exit.succeed([])))
      return Scope.close(scope, Exit.void)
    })
  return { store, claims, answer, fail, close }
}
