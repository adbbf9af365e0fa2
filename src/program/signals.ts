/**
 * The program's SIGINT, SIGTERM and SIGHUP handling, and its exit codes.
 * SIGHUP (the terminal closed, or a supervisor's stop) is taken as SIGTERM
 * is: by default it would end the process at once, with no drain and no
 * report.
 *
 * This module imports nothing, so that the entry can install the handlers
 * before it loads Effect and the rest of the program (loading them takes most
 * of a second, and a signal meanwhile would otherwise kill the process with
 * the shell's 143 instead of the program's 130). The handlers stay installed
 * until the process exits, so no signal ever meets Node's default action.
 *
 * What a signal does depends on where the run is:
 *
 * - starting (loading, parsing flags, connecting, starting the pool): nothing
 *   to drain yet, so the program stops at once with 130;
 * - running: the first signal asks the run to stop (it drains), a second one
 *   stops at once with 130;
 * - settled (the report is being printed, the exit code is known): signals
 *   change nothing, and the program exits with the code of its report.
 */

/** The exit codes the README documents. */
export const ExitCode = {
  /** A clean drain: every job ended, even those failed on purpose. */
  clean: 0,
  /** Jobs were interrupted or abandoned, or the job store failed. */
  unfinished: 1,
  /** Bad flags. */
  badFlags: 2,
  /** A second signal stopped the program at once, or a signal came before the pool started. */
  stopped: 130
} as const

export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP"

/** What the run does with signals while its pool runs. */
export interface WhileRunning {
  /** The first signal: stop taking work and drain. */
  readonly stop: (signal: Signal) => void
  /** Prints a line where the run prints its own (so that it does not land inside a progress line). */
  readonly say: (line: string) => void
}

export interface Signals {
  /** The pool runs: from now on the first signal calls `stop`, a second one exits with 130. */
  readonly running: (handlers: WhileRunning) => void
  /** The outcome is decided: from now on signals are ignored. */
  readonly settle: () => void
  /** Exits with `code`; signals cannot change it any more. */
  readonly exit: (code: number) => never
}

type Phase =
  | { readonly _tag: "starting" }
  | { readonly _tag: "running"; readonly handlers: WhileRunning; received: number }
  | { readonly _tag: "settled" }

/** Installs the handlers: call it first thing, before anything slow is loaded. */
export const takeSignals = (): Signals => {
  let phase: Phase = { _tag: "starting" }

  const onSignal = (signal: Signal) => {
    switch (phase._tag) {
      case "starting":
        process.stdout.write(`${signal} received before the pool started: stopping.\n`)
        return process.exit(ExitCode.stopped)
      case "running":
        phase.received += 1
        if (phase.received === 1) return phase.handlers.stop(signal)
        phase.handlers.say(`${signal} received again: stopping at once, without waiting for jobs.`)
        return process.exit(ExitCode.stopped)
      case "settled":
        return
    }
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  process.on("SIGHUP", onSignal)

  return {
    running: (handlers) => {
      if (phase._tag === "starting") phase = { _tag: "running", handlers, received: 0 }
    },
    settle: () => {
      phase = { _tag: "settled" }
    },
    exit: (code) => {
      phase = { _tag: "settled" }
      return process.exit(code)
    }
  }
}
