/**
 * The command line: parses the flags, runs the in-memory or the durable run,
 * and exits with the code the run returned.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Exit, References, Ref, Runtime } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag, type HelpDoc } from "effect/cli"
import type * as Pool from "../Pool.ts"
import type { ListenError } from "./address.ts"
import { runDurable } from "./durable.ts"
import { badFlag, type Config, dashboardSettings, durableSettings, flags, NAME } from "./flags.ts"
import { runInMemory } from "./inMemory.ts"
import { exporters } from "./observe.ts"
import { ExitCode, type Signals } from "./signals.ts"

/**
 * The flags' own checks refuse what the pool would; should one ever let
 * something through, it is still a bad flag (exit 2), not a crash.
 */
const poolConfigIsBadFlag = (error: Pool.PoolConfigError) => Effect.fail(badFlag(error.message))

/** One run, by the flags: on a durable queue with `--store`, else in memory. Returns the exit code. */
const runProgram = (config: Config, signals: Signals) =>
  Effect.flatMap(Effect.all([durableSettings(config), dashboardSettings(config)]), ([settings, dashboard]) =>
    settings === undefined
      ? runInMemory(config, signals, dashboard)
      : runDurable(config, settings, signals, dashboard)).pipe(
      Effect.catchTag("PoolConfigError", poolConfigIsBadFlag),
      Effect.provide(exporters(config)),
      Effect.catchTag("ListenError", cannotListen)
    )

/** The dashboard or the metrics server could not listen: one line on stderr, exit 1 (the flags were fine; the machine said no). */
const cannotListen = (error: ListenError) =>
  Effect.sync(() => {
    process.stderr.write(`${NAME}: ${error.message}\n`)
    return ExitCode.unfinished
  })

const description = "Runs jobs on an effect-worker-pool: N workers, a bounded queue, per-job lines and a " +
  "shutdown report. Ctrl-C, SIGTERM or SIGHUP drains within --drain-timeout; a second signal stops at once. " +
  "Exit code 0 after a clean drain; 1 when jobs were interrupted or abandoned, or the job store failed; " +
  "2 for bad flags; 130 when stopped by a second signal (or by a signal before the pool started)."

/**
 * Presents bad flags as a short message on stderr: what is wrong, one line
 * per problem, then the usage. The full help stays behind `--help`.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.sync(() => {
        const problems = event.errors.map((error) => `${NAME}: ${error.message}`)
        const hint = `Run '${NAME} --help' for details.`
        process.stderr.write(`${[...problems, usage(event.helpDoc), hint].join("\n")}\n`)
      })
      : CliOutput.defaultPresenter.present(event)
}

const usage = (doc: HelpDoc.HelpDoc): string =>
  `Usage: ${NAME} ${doc.flags.map((flag) => `[--${flag.name} ${flag.type}]`).join(" ")}`

const isUsageError = (error: unknown): boolean =>
  CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length > 0

/** Parses the flags and runs; the exit code is the run's (0 for `--help` and `--version`, 2 for bad flags). */
const program = (args: ReadonlyArray<string>, signals: Signals) =>
  Effect.gen(function*() {
    const exitCode = yield* Ref.make<number>(ExitCode.clean)
    const command = Command.make(
      NAME,
      flags,
      (config) => Effect.flatMap(runProgram(config, signals), (code) => Ref.set(exitCode, code))
    ).pipe(Command.withDescription(description))
    yield* Command.runWith(command, { version: "0.1.0" })(args)
    return yield* Ref.get(exitCode)
  }).pipe(
    Effect.catchIf(isUsageError, () => Effect.succeed(ExitCode.badFlags)),
    Effect.provideService(CliOutput.Presenter, presenter),
    // --wizard and --completions make no sense for a demo that runs and exits.
    Effect.provideService(
      CliConfig.CliConfig,
      CliConfig.make({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.LogLevel] })
    ),
    // The library logs through Effect; its warnings (a drain deadline reached)
    // go to stderr so that stdout stays the program's own output. --log-level
    // overrides the minimum.
    Effect.provideService(References.MinimumLogLevel, "Warn"),
    Effect.provideService(References.LogToStderr, true),
    Effect.provide(NodeServices.layer)
  )

/**
 * Effect's `runMain`, without its own signal handling: the program's
 * handlers, installed before anything was loaded, decide what a signal does.
 * It always exits explicitly, so that nothing left in the event loop holds
 * the exit, or lets a late signal meet Node's default action.
 */
const runMain = (signals: Signals) =>
  Runtime.makeRunMain(({ fiber, teardown }) => {
    fiber.addObserver((exit) => teardown(exit, signals.exit))
  })

/** The exit code the run returned; an unexpected failure (a bug) is 1, reported by `runMain`. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isSuccess(exit) ? onExit(exit.value as number) : Runtime.defaultTeardown(exit, onExit)

/** Runs the program on the command line's arguments. */
export const main = (signals: Signals): void => {
  // A closed pipe (`... | head`, EPIPE) or a terminal gone (its session
  // hung up, EIO) must not crash the drain, on either stream (the library's
  // warnings go to stderr); the exit code still tells how it went.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "EIO") throw error
    })
  }
  runMain(signals)(program(process.argv.slice(2), signals), { teardown })
}

