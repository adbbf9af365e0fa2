/**
 * What the program prints while it runs: permanent lines, and on a terminal
 * one status line redrawn in place (the progress line).
 */
import type * as Pool from "../Pool.ts"

/** Where the screen writes, and how wide it is (`undefined`: not a terminal, no limit). */
export interface Terminal {
  readonly write: (text: string) => void
  readonly columns: () => number | undefined
}

export const stdoutTerminal: Terminal = {
  write: (text) => void process.stdout.write(text),
  columns: () => process.stdout.isTTY ? process.stdout.columns : undefined
}

/**
 * stdout, with room for one status line redrawn in place. A permanent line
 * first erases the status line, so that it does not end up mid-screen; the
 * next tick draws it again below.
 */
export interface Screen {
  readonly line: (text: string) => void
  readonly status: (text: string) => void
}

/**
 * A live screen redraws the status line in place; otherwise each status is a
 * line of its own. A live status line is cut to the terminal's width: a line
 * that wrapped would leave a row behind at each redraw, since erasing clears
 * only the row the cursor is on.
 */
export const makeScreen = (live: boolean, terminal: Terminal = stdoutTerminal): Screen => {
  let statusShown = false
  const erase = () => {
    if (statusShown) terminal.write("\r\x1b[2K")
    statusShown = false
  }
  return {
    line: (text) => {
      erase()
      terminal.write(`${text}\n`)
    },
    status: (text) => {
      if (!live) return terminal.write(`${text}\n`)
      erase()
      terminal.write(fitWidth(text, terminal.columns()))
      statusShown = true
    }
  }
}

/**
 * `text` cut to fit in `columns - 1` characters (the last column would put
 * some terminals' cursor on the next row). Fields are separated by two
 * spaces; whole fields are dropped from the end first, then the text is cut.
 */
export const fitWidth = (text: string, columns: number | undefined): string => {
  if (columns === undefined || columns <= 0) return text
  const room = Math.max(columns - 1, 1)
  if (text.length <= room) return text
  const fields = text.split("  ")
  while (fields.length > 1 && fields.join("  ").length > room) fields.pop()
  const kept = fields.join("  ")
  return kept.length <= room ? kept : kept.slice(0, room)
}

export const formatMillis = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${Number((ms / 1000).toFixed(2))} s`

/**
 * The progress line: jobs done (succeeded) and failed apart, of the total,
 * then queued/active, the throughput and the time so far.
 */
export const progressLine = (stats: Pool.Stats, total: number, elapsedMs: number): string => {
  const done = stats.succeeded
  const failed = stats.failed + stats.died
  const rate = elapsedMs > 0 ? ((done + failed) * 1000) / elapsedMs : 0
  return [
    `done ${done}/${total}`,
    `failed ${failed}`,
    `queued ${stats.queued}`,
    `active ${stats.active}`,
    `${rate.toFixed(1)} jobs/s`,
    `elapsed ${formatMillis(elapsedMs)}`
  ].join("  ")
}
