/**
 * results.svg: horizontal bars of median jobs/s per contender, one panel per
 * throughput workload, each panel on its own linear scale (the workloads
 * differ by orders of magnitude; within one, bar lengths compare directly).
 * This pool's bar is highlighted; the informational row is drawn pale and
 * dashed, and does not set its panel's scale. Plain SVG with no scripts or external fonts, so it shows the same
 * in a browser and on GitHub.
 */
import { POOL, POOL_BATCHES } from "./contenders/index.ts"
import { rate } from "./kit/numbers.ts"
import type { Results, ThroughputResult } from "./results.ts"
import type { Row } from "./throughput.ts"

const WIDTH = 960
const LABEL_WIDTH = 270
const VALUE_WIDTH = 110
const BAR_SPACE = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
const ROW_HEIGHT = 26
const BAR_HEIGHT = 18
const PANEL_HEAD = 40
const PANEL_GAP = 18
const TOP = 80

const COLORS = { pool: "#d1495b", other: "#6c8ebf", info: "#b8c7de" }

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const bar = (result: ThroughputResult, row: Row, y: number, max: number): string => {
  const value = row.jobsPerSecond.median
  const offScale = value > max
  const width = Math.max(1, Math.min(value, max) / max * BAR_SPACE)
  const isPool = row.contender === POOL || row.contender === POOL_BATCHES
  const fill = isPool ? COLORS.pool : row.informational ? COLORS.info : COLORS.other
  const dash = row.informational ? ` stroke="${COLORS.other}" stroke-dasharray="4 3"` : ""
  const weight = isPool ? ` font-weight="bold"` : ""
  const middle = y + BAR_HEIGHT / 2 + 4
  return [
    `<text x="${LABEL_WIDTH - 10}" y="${middle}" text-anchor="end"${weight}>${escape(row.contender)}</text>`,
    `<rect class="bar" data-workload="${result.id}" data-contender="${escape(row.contender)}" ` +
    `x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${fill}"${dash}/>`,
    `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${middle}"${weight}>${rate(value)}${offScale ? " ›" : ""}</text>`
  ].join("\n")
}

const panelHeight = (result: ThroughputResult): number => PANEL_HEAD + result.rows.length * ROW_HEIGHT

/**
 * The panel's scale: its largest comparable row. An informational row above
 * it is drawn to the edge and marked "›" rather than squashing every real bar.
 */
const scaleOf = (result: ThroughputResult): number => {
  const rows = result.rows.filter((row) => !row.informational)
  return Math.max(...(rows.length > 0 ? rows : result.rows).map((row) => row.jobsPerSecond.median))
}

const panel = (result: ThroughputResult, top: number): string => {
  const max = scaleOf(result)
  const bars = result.rows.map((row, i) => bar(result, row, top + PANEL_HEAD + i * ROW_HEIGHT, max))
  return [
    `<g class="panel" data-workload="${result.id}">`,
    `<text x="10" y="${top + 24}" font-size="15" font-weight="bold">${escape(result.title)}</text>`,
    `<line x1="${LABEL_WIDTH}" y1="${top + PANEL_HEAD - 4}" x2="${LABEL_WIDTH}" ` +
    `y2="${top + panelHeight(result)}" stroke="#999"/>`,
    ...bars,
    "</g>"
  ].join("\n")
}

export const renderChart = (results: Results): string => {
  const panels: Array<string> = []
  let top = TOP
  for (const result of results.throughput) {
    panels.push(panel(result, top))
    top += panelHeight(result) + PANEL_GAP
  }
  const height = top + 10
  const scale = "Median jobs/s, higher is better; linear scale per panel; › marks an informational bar off the scale."
  const context = `${results.date.slice(0, 10)}, Node ${results.node}, ${results.machine.cores} cores, ` +
    `${results.sizes.label} sizes (bench/results.md has the numbers).`
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="26" font-size="18" font-weight="bold">effect-worker-pool vs other job runners</text>`,
    `<text x="10" y="48" fill="#555">${escape(scale)}</text>`,
    `<text x="10" y="66" fill="#555">${escape(context)}</text>`,
    ...panels,
    "</svg>",
    ""
  ].join("\n")
}
