/**
 * The runnable program: the classic production worker pool (a bounded
 * queue into N workers, a graceful shutdown with a bounded drain), done with
 * a `WorkerPool`.
 *
 * By default it starts 3 workers, submits 5 jobs of 500 ms, prints a line
 * when a worker starts, finishes or fails a job, then shuts the pool down and
 * prints the shutdown report. Flags turn it into a tool to try the pool, in
 * memory or on a durable queue (`--help` lists them; the README's "The
 * program" section explains them, and the exit codes).
 *
 * ```sh
 * node_modules/.bin/node src/main.ts --workers 8 --jobs 1000 --duration 20 --failure-rate 0.1
 * ```
 *
 * This entry only installs the signal handlers, then loads the rest: loading
 * Effect takes most of a second, and a SIGTERM meanwhile must still get the
 * program's exit code, not kill it (see `program/signals.ts`). The program is
 * the only part of the package that writes to the console: the library logs
 * through Effect's logger, which the program sends to stderr at level Warn.
 */
import { takeSignals } from "./program/signals.ts"

const signals = takeSignals()
const { main } = await import("./program/cli.ts")
main(signals)
