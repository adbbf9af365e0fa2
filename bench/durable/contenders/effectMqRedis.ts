/**
 * effect-mq's Redis store, loaded so that it runs on this project's effect.
 *
 * effect-mq 0.7.0 imports Effect's `Redis` service from
 * `effect/unstable/persistence`, where Effect 4.0 had it; Effect 4.1 (this
 * project's) moved it to `effect/persistence` and has no `unstable` path,
 * so `effect-mq/redis` fails to load as published. A resolve hook of this
 * process sends that one specifier to its new place, and the store is
 * imported only once the hook is in (a static import would be resolved
 * before any code runs). The module is the same code at its new path.
 */
import { registerHooks } from "node:module"

const MOVED: Record<string, string> = { "effect/unstable/persistence": "effect/persistence" }

let hooked = false

/** `effect-mq/redis`, with `effect/unstable/persistence` resolved to `effect/persistence`. */
export const importRedisJobStore = async () => {
  if (!hooked) {
    registerHooks({
      resolve: (specifier, context, next) => next(MOVED[specifier] ?? specifier, context)
    })
    hooked = true
  }
  return (await import("effect-mq/redis")).RedisJobStore
}
