/**
 * The human part of a report: a block between two HTML comments where people
 * write their analysis. Writing a report again copies the block over from the
 * file it replaces, so a benchmark run never wipes it.
 */
import { readFile, writeFile } from "node:fs/promises"

export const NOTES_START = "<!-- notes:start (kept by `npm run bench`: edit freely between these markers) -->"
export const NOTES_END = "<!-- notes:end -->"

const PLACEHOLDER = "_No notes yet: write the profile analysis here._"

/** The notes of the report at `path`, or the placeholder if it has none (or does not exist). */
export const readNotes = async (path: string): Promise<string> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch {
    return PLACEHOLDER
  }
  const start = text.indexOf(NOTES_START)
  const end = text.indexOf(NOTES_END, start)
  if (start < 0 || end < 0) return PLACEHOLDER
  return text.slice(start + NOTES_START.length, end).trim()
}

export const notesBlock = (notes: string): string => `${NOTES_START}\n\n${notes}\n\n${NOTES_END}`

/** Writes the report `render` makes at `path`, with the notes of the report it replaces; returns it. */
export const writeReport = async (path: string, render: (notes: string) => string): Promise<string> => {
  const markdown = render(await readNotes(path))
  await writeFile(path, markdown)
  return markdown
}
