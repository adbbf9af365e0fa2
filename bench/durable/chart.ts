/**
 * results-durable.svg: the durable comparison at a glance. For each engine,
 * one panel of throughput per consumer count (median jobs/s, a linear scale
 * per panel, so bar lengths compare within it) and one of latency (pickup
 * and end-to-end under load, p50 and p99 per contender, on a log scale: the
 * contenders that poll are thousands of times slower than those that are
 * woken, and a linear scale would hide everyone else). This pool's bars are
 * highlighted. Plain SVG with no scripts or external fonts, as
 * `../chart.ts` draws the in-memory one.
 */
import { rate } from "../kit/numbers.ts"
import type { Engine } from "./contenders/index.ts"
import type { DurableResults, DurableRow, LoadRow, PickupRow } from "./run.ts"

const WIDTH = 960
const LABEL_WIDTH = 300
const VALUE_WIDTH = 130
const BAR_SPACE = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
const ROW_HEIGHT = 24
const BAR_HEIGHT = 16
const PANEL_HEAD = 40
const PANEL_GAP = 16
const TOP = 80

const COLORS = { pool: "#d1495b", other: "#6c8ebf", poolPale: "#eba3ad", otherPale: "#b8c7de" }

const ENGINE_TITLE: Record<Engine, string> = { redis: "Redis", postgres: "PostgreSQL" }

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

interface Bar {
  readonly label: string
  readonly ours: boolean
  /** Pale: the second bar of a pair (p99 beside p50). */
  readonly pale: boolean
  readonly value: number
  readonly text: string
}

interface Panel {
  readonly id: string
  readonly title: string
  readonly bars: ReadonlyArray<Bar>
  /** Where a bar's length comes from: its share of the panel's largest value, or of a log range. */
  readonly scale: "linear" | "log"
}

const length = (panel: Panel, value: number): number => {
  const values = panel.bars.map((bar) => bar.value)
  if (panel.scale === "linear") return value / Math.max(...values) * BAR_SPACE
  // Log scale from a tenth of the smallest value to the largest.
  const low = Math.log10(Math.min(...values) / 10)
  const high = Math.log10(Math.max(...values))
  return (Math.log10(value) - low) / (high - low) * BAR_SPACE
}

const panelHeight = (panel: Panel): number => PANEL_HEAD + panel.bars.length * ROW_HEIGHT

const drawPanel = (panel: Panel, top: number): string => {
  const bars = panel.bars.map((bar, i) => {
    const y = top + PANEL_HEAD + i * ROW_HEIGHT
    const width = Math.max(1, length(panel, bar.value))
    const fill = bar.ours ? (bar.pale ? COLORS.poolPale : COLORS.pool) : (bar.pale ? COLORS.otherPale : COLORS.other)
    const weight = bar.ours ? ` font-weight="bold"` : ""
    const middle = y + BAR_HEIGHT / 2 + 4
    return [
      `<text x="${LABEL_WIDTH - 10}" y="${middle}" text-anchor="end"${weight}>${escape(bar.label)}</text>`,
      `<rect class="bar" data-panel="${panel.id}" data-contender="${escape(bar.label)}" x="${LABEL_WIDTH}" y="${y}" ` +
      `width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${fill}"/>`,
      `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${middle}"${weight}>${escape(bar.text)}</text>`
    ].join("\n")
  })
  return [
    `<g class="panel" data-panel="${panel.id}">`,
    `<text x="10" y="${top + 24}" font-size="15" font-weight="bold">${escape(panel.title)}</text>`,
    `<line x1="${LABEL_WIDTH}" y1="${top + PANEL_HEAD - 4}" x2="${LABEL_WIDTH}" y2="${top + panelHeight(panel)}" stroke="#999"/>`,
    ...bars,
    "</g>"
  ].join("\n")
}

/** A contender's name without its engine, which the panel's title already says. */
const short = (contender: string): string => contender.replace(/ \((Redis|PostgreSQL)\)$/, "")

const throughputPanel = (engine: Engine, consumers: number, rows: ReadonlyArray<DurableRow>): Panel => ({
  id: `${engine}-${consumers}`,
  title: `${ENGINE_TITLE[engine]}: throughput, ${consumers} consumer process${consumers === 1 ? "" : "es"} (jobs/s, linear)`,
  scale: "linear",
  bars: rows.map((row) => ({
    label: short(row.contender),
    ours: row.ours,
    pale: false,
    value: row.jobsPerSecond.median,
    text: rate(row.jobsPerSecond.median)
  }))
})

const ms = (n: number): string => n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`

/** Each row's p50 and p99 bars, labelled `label(row)`, then "p50". */
const latencyBars = <R extends PickupRow | LoadRow>(label: (row: R) => string, rows: ReadonlyArray<R>): ReadonlyArray<Bar> =>
  rows.flatMap((row) => [
    { label: `${label(row)} p50`, ours: row.ours, pale: false, value: row.run.p50, text: ms(row.run.p50) },
    { label: `p99`, ours: row.ours, pale: true, value: row.run.p99, text: ms(row.run.p99) }
  ])

/** A row's contender, and what it measured. */
const named = (kind: string) => (row: PickupRow | LoadRow) => `${short(row.contender)}, ${kind}`

const latencyPanel = (engine: Engine, results: DurableResults): Panel => ({
  id: `${engine}-latency`,
  title: `${ENGINE_TITLE[engine]}: latency, pickup (idle) and end to end (half load), p50 and p99 (ms, log)`,
  scale: "log",
  bars: [
    ...latencyBars(named("pickup"), results.pickup.filter((row) => row.engine === engine)),
    ...latencyBars(named("under load"), results.load.filter((row) => row.engine === engine && row.atRateOf === undefined)),
    // Ours (its colour says so), named by the load alone: with our name too, a label such as
    // "…, at graphile-worker (batched)'s load p50" ran past the panel's left edge.
    ...latencyBars(
      (row) => `at ${short(row.atRateOf!)}'s load`,
      results.load.filter((row) => row.engine === engine && row.atRateOf !== undefined)
    )
  ]
})

export const renderDurableChart = (results: DurableResults): string => {
  const panels: Array<Panel> = []
  for (const engine of ["redis", "postgres"] as const) {
    for (const consumers of results.sizes.consumers) {
      const rows = results.rows.filter((row) => row.engine === engine && row.consumers === consumers)
      if (rows.length > 0) panels.push(throughputPanel(engine, consumers, rows))
    }
    const latency = latencyPanel(engine, results)
    if (latency.bars.length > 0) panels.push(latency)
  }
  const drawn: Array<string> = []
  let top = TOP
  for (const panel of panels) {
    drawn.push(drawPanel(panel, top))
    top += panelHeight(panel) + PANEL_GAP
  }
  const height = top + 10
  const scale = "Throughput: median jobs/s, higher is better, linear per panel. Latency: lower is better, log scale."
  const context = `${results.date.slice(0, 10)}, Node ${results.node}, ${results.machine.cores} cores shared by server and consumers, ` +
    `${results.sizes.label} sizes (bench/results-durable.md has the numbers).`
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="26" font-size="18" font-weight="bold">effect-worker-pool's durable pool vs other job queues</text>`,
    `<text x="10" y="48" fill="#555">${escape(scale)}</text>`,
    `<text x="10" y="66" fill="#555">${escape(context)}</text>`,
    ...drawn,
    "</svg>",
    ""
  ].join("\n")
}
