/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`,
 * installed by the test set-up like the servers) driven through
 * `playwright-core`, against the real program (`src/main.ts --dashboard`):
 *
 * - in memory, the counts on the page move as the jobs flow;
 * - on a real Redis, a dead letter left by one run is retried with its
 *   button on the dashboard of another, and its job completes: on the page
 *   and in the store; the page's screenshot is taken and checked (a PNG of
 *   the page's size), in a temporary directory: a test run leaves the tree
 *   as it was. `npm run docs:screenshot` (this test with
 *   `EWP_UPDATE_SCREENSHOT=1`) writes it to docs/dashboard.png instead, the
 *   README's picture;
 * - an action without the token, or from another origin, is refused (403)
 *   and changes nothing;
 * - on a real Redis, 120 dead letters are paged, 50 at a time, with the
 *   page's buttons, a later page following the store as it changes, and a
 *   job is looked up by the id typed;
 * - on later pages the test serves itself, two queues page both listings at
 *   once, each on its own, every id as text; one listing's read that fails
 *   or never answers marks and holds up its own page only; an emptied page
 *   gives way to the first;
 * - the chart plots each sample's rate (`ended / seconds`), placed by the
 *   time the samples after it cover, on a snapshot the test serves itself.
 */
import { Duration, Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium, type Page as BrowserPage } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Page from "../src/dashboard/page.ts"
import type { QueueSnapshot, Snapshot } from "../src/dashboard/sampler.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { ROOT, type Running, runMain, start } from "./support/runMain.ts"
import { findBinary, type PlainServer, startRedisServer } from "./support/servers.ts"

let browser: Browser
let redis: PlainServer
let scratch: string

/** Where the screenshot goes: the README's picture only when asked. */
const screenshotPath = (): string =>
  process.env.EWP_UPDATE_SCREENSHOT === "1" ? join(ROOT, "docs", "dashboard.png") : join(scratch, "dashboard.png")

/** The width and height of the PNG at `path`, failing unless it is one. */
const pngSize = (path: string): [number, number] => {
  const png = readFileSync(path)
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  // The header chunk comes first: its width and height follow its length and type.
  return [png.readUInt32BE(16), png.readUInt32BE(20)]
}

beforeAll(async () => {
  const executablePath = findBinary("chromium")
  if (executablePath === undefined) throw new Error("chromium not found: the test set-up installs it (apt-get install -y chromium)")
  browser = await chromium.launch({ executablePath })
  scratch = mkdtempSync(join(tmpdir(), "ewp-dashboard-"))
  redis = await startRedisServer()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await redis?.close()
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
})

/** The URL the program printed for its dashboard (with `#token=` when it made the token). */
const dashboardUrl = async (program: Running): Promise<string> => {
  await program.waitFor(/^Dashboard: (\S+)$/m, 60_000)
  return /^Dashboard: (\S+)$/m.exec(program.stdout())![1]!
}

/** How long a poll of the page waits: the machine may be busy (a test run, other builds). */
const patience = { timeout: 20_000, interval: 200 }

/** A count on a queue's card, as the page shows it. */
const count = async (page: BrowserPage, queue: string, name: string): Promise<number> =>
  Number(await page.locator(`[data-queue="${queue}"] [data-count="${name}"] b`).textContent())

/** Waits until the page shows `name` on `queue` meeting `ok`. */
const waitForCount = (page: BrowserPage, queue: string, name: string, ok: (n: number) => boolean, timeout = 30_000) =>
  expect.poll(() => count(page, queue, name), { timeout, interval: 200 }).toSatisfy(ok)

/** Runs `use` on the Redis queue's admin, in a scope of its own. */
const onQueue = <A>(queue: string, use: (admin: Durable.Admin, store: Store) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(
    RedisStore.make({ url: redis.url }),
    (store) => use(Durable.admin({ store, queue }), store)
  )))

describe("the dashboard in a browser", () => {
  it("in memory: the counts on the page change as the jobs flow", async () => {
    const program = start([
      "--jobs", "2000", "--duration", "20", "--workers", "4", "--output", "quiet",
      "--dashboard", "0", "--dashboard-token", "t0ken"
    ])
    try {
      const url = await dashboardUrl(program)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      const page = await browser.newPage()
      await page.goto(url)
      await page.locator('[data-queue="pool"]').waitFor()
      expect(await count(page, "pool", "workers")).toBe(4)
      const first = await count(page, "pool", "succeeded")
      // Without reloading: the page polls.
      await waitForCount(page, "pool", "succeeded", (n) => n > first + 50)
      const second = await count(page, "pool", "succeeded")
      await waitForCount(page, "pool", "succeeded", (n) => n > second + 50)
      await expect.poll(() => page.locator('[data-queue="pool"] [data-running]').count(), patience).toBeGreaterThan(0)
      await expect.poll(() => page.locator('[data-queue="pool"] [data-outcome]').count(), patience).toBeGreaterThan(10)
      await page.close()
      // Paused from the page with the token (after its confirmation): the pool starts no job, said on
      // its card, beyond those its 4 workers were running; then resumed, the jobs flow again.
      const acting = await browser.newPage()
      await acting.goto(`${url}#token=t0ken`)
      const card = acting.locator('[data-queue="pool"]')
      acting.once("dialog", (dialog) => dialog.accept())
      await card.locator('[data-action="pause"]').click()
      await expect.poll(() => acting.locator("#message").textContent(), patience).toContain("\"paused\":true,\"changed\":true")
      await expect.poll(() => card.locator("[data-paused]").count(), patience).toBe(1)
      await expect.poll(() => count(acting, "pool", "active"), patience).toBe(0)
      const held = await count(acting, "pool", "succeeded")
      await new Promise((resolve) => setTimeout(resolve, 2_500)) // two polls of the page, at least
      expect(await count(acting, "pool", "succeeded")).toBe(held)
      await card.locator('[data-action="resume"]').click()
      await expect.poll(() => card.locator("[data-paused]").count(), patience).toBe(0)
      await waitForCount(acting, "pool", "succeeded", (n) => n > held + 50)
      await acting.close()
      // A link whose token has a broken escape: the page works all the same, the token kept as written.
      const broken = await browser.newPage()
      const errors: Array<string> = []
      broken.on("pageerror", (error) => errors.push(error.message))
      await broken.goto(`${url}#token=100%`)
      await broken.locator('[data-queue="pool"]').waitFor()
      const then = await count(broken, "pool", "succeeded")
      await waitForCount(broken, "pool", "succeeded", (n) => n > then)
      expect(await broken.locator("#token").inputValue()).toBe("100%")
      expect(errors).toEqual([])
      await broken.close()
    } finally {
      program.kill("SIGTERM")
      await program.exited
    }
  }, 120_000)

  it("on Redis: a dead letter is retried with its button, and its job completes, on the page and in the store", async () => {
    const queue = "dash"
    // A first run leaves job 1 dead: it fails on purpose, with no attempt left.
    const first = await runMain([
      "--store", redis.url, "--queue", queue, "--jobs", "1", "--duration", "0", "--failure-rate", "1",
      "--max-attempts", "1", "--output", "quiet"
    ])
    expect(first.stdout).toContain("0 completed, 1 dead-lettered")
    const [dead] = await onQueue(queue, (admin) => admin.deadLetters())
    expect(dead).toBeDefined()
    const id = dead!.id

    // A second run works the queue with a dashboard: its own jobs (every 20th fails twice and is
    // dead-lettered too), a periodic job, until a signal. No token given: it makes one, in the URL.
    // The ticks fall on odd seconds: a tick's payload is its second, and an even one that is a
    // multiple of 20 would fail on purpose like the 20th job, making the dead letters a matter of timing.
    const program = start([
      "--store", redis.url, "--queue", queue, "--jobs", "300", "--duration", "30", "--workers", "4",
      "--failure-rate", "0.05", "--max-attempts", "2", "--retry-delay", "100", "--cron", "1/2 * * * * *",
      "--output", "quiet", "--dashboard", "0", "--log-level", "info"
    ])
    try {
      const url = await dashboardUrl(program)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{40,}$/)
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(url)
      const card = page.locator(`[data-queue="${queue}"]`)
      await card.waitFor()
      // The run's own jobs end: 285 completed and 15 dead-lettered, beside the first run's.
      await waitForCount(page, queue, "completed", (n) => n >= 285, 60_000)
      await waitForCount(page, queue, "buried", (n) => n === 16)
      await expect(card.locator(`[data-dead="${id}"]`).textContent()).resolves.toContain("SimulatedFailure")
      expect(await card.textContent()).toContain("demo-tick")
      const screenshot = screenshotPath()
      await page.screenshot({ path: screenshot, fullPage: false })
      expect(pngSize(screenshot)).toEqual([1280, 900])

      await card.locator(`[data-dead="${id}"] [data-action="redrive"]`).click()
      await expect.poll(() => page.locator("#message").textContent(), patience).toContain("redriven\":1")
      await expect.poll(() => card.locator(`[data-dead="${id}"]`).count(), patience).toBe(0)
      await expect.poll(() => card.locator(`[data-outcome="${id}"]`).textContent(), patience)
        .toContain("Succeeded")
      await waitForCount(page, queue, "buried", (n) => n === 15)
      const info = await onQueue(queue, (admin) => admin.lookup(id))
      expect(info?.state).toBe("completed")

      // Paused from the page (after its confirmation), for every process: said on the card; then resumed.
      page.once("dialog", (dialog) => dialog.accept())
      await card.locator('[data-action="pause"]').click()
      await expect.poll(() => page.locator("#message").textContent(), patience).toContain("\"paused\":true,\"changed\":true")
      await expect.poll(() => card.locator("[data-paused]").count(), patience).toBe(1)
      expect(await onQueue(queue, (admin) => admin.isPaused)).toBe(true)
      await card.locator('[data-action="resume"]').click()
      await expect.poll(() => card.locator("[data-paused]").count(), patience).toBe(0)
      expect(await onQueue(queue, (admin) => admin.isPaused)).toBe(false)
      await page.close()
    } finally {
      program.kill("SIGTERM")
      await program.exited
    }
    // The action was logged, with the id.
    expect(program.stderr()).toMatch(new RegExp(`dashboard action[\\s\\S]*${id}`))
  }, 150_000)

  it("an action without the token, or from another origin, is refused and changes nothing", async () => {
    const queue = "refusals"
    await runMain([
      "--store", redis.url, "--queue", queue, "--jobs", "1", "--duration", "0", "--failure-rate", "1",
      "--max-attempts", "1", "--output", "quiet"
    ])
    const program = start([
      "--store", redis.url, "--queue", queue, "--role", "worker", "--jobs", "0", "--output", "quiet",
      "--dashboard", "0", "--dashboard-token", "s3cret"
    ])
    try {
      const url = await dashboardUrl(program)
      const page = await browser.newPage()
      await page.goto(url) // no token in the page
      await page.locator(`[data-queue="${queue}"]`).waitFor()
      await waitForCount(page, queue, "buried", (n) => n === 1)
      // The page's own button, without a token: refused, said on the page.
      await page.locator(`[data-queue="${queue}"] [data-action="redrive"]`).click()
      await expect.poll(() => page.locator("#message").textContent(), patience).toMatch(/refused \(403\).*token/)
      // The same request from the page's script, and one with the token but another site's Origin.
      const statuses = await page.evaluate(async () => {
        const post = (headers: Record<string, string>) =>
          fetch("api/queues/refusals/redrive", {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({ all: true })
          }).then((response) => response.status)
        return [await post({}), await post({ "x-dashboard-token": "wrong" })]
      })
      expect(statuses).toEqual([403, 403])
      const foreign = await fetch(`${url}api/queues/${queue}/redrive`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-dashboard-token": "s3cret", origin: "http://evil.example" },
        body: JSON.stringify({ all: true })
      })
      expect(foreign.status).toBe(403)
      expect(await foreign.json()).toEqual({ error: "cross-site request refused (Origin http://evil.example)" })
      expect((await onQueue(queue, (admin) => admin.counts)).buried).toBe(1)
      await page.close()
    } finally {
      program.kill("SIGTERM")
      await program.exited
    }
  }, 120_000)

  it("on Redis: the dead letters and the waiting jobs are paged with next page and first page, a later page asked again at each poll; a job is looked up by id", async () => {
    const queue = "paged"
    const ids = Array.from({ length: 120 }, (_, i) => `p${String(i).padStart(3, "0")}`)
    // One batch with one delay: a tie, which Redis orders by id.
    const waiting = Array.from({ length: 60 }, (_, i) => `u${String(i).padStart(3, "0")}`)
    await onQueue(queue, (_, store) =>
      Effect.gen(function*() {
        yield* store.offer(queue, ids.map((id) => ({ id, payload: id })))
        for (const lease of yield* store.claim(queue, ids.length, Duration.minutes(1))) yield* store.bury(queue, lease, "no")
        yield* store.offer(queue, waiting.map((id) => ({ id, payload: id, delay: 3_600_000 })))
      }))
    const program = start([
      "--store", redis.url, "--queue", queue, "--role", "worker", "--jobs", "0", "--output", "quiet", "--dashboard", "0"
    ])
    try {
      const page = await browser.newPage()
      await page.goto(await dashboardUrl(program))
      const card = page.locator(`[data-queue="${queue}"]`)
      await card.waitFor()
      await waitForCount(page, queue, "buried", (n) => n === 120)
      const shown = () => card.locator("[data-dead]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-dead")))
      const message = () => page.locator("#message").textContent()
      const status = () => page.locator("#status").textContent()
      await expect.poll(shown, patience).toEqual(ids.slice(0, 50))
      await card.locator('[data-listing="dead"] [data-page="next"]').click()
      await expect.poll(shown, patience).toEqual(ids.slice(50, 100))
      // A dead letter deleted with its button on a later page: the page slides up by one.
      await card.locator(`[data-dead="${ids[60]}"] [data-action="remove"]`).click()
      await expect.poll(message, patience).toContain("removed\":1")
      const rest = ids.filter((id) => id !== ids[60])
      await expect.poll(shown, patience).toEqual(rest.slice(50, 100))
      await card.locator('[data-listing="dead"] [data-page="next"]').click()
      await expect.poll(shown, patience).toEqual(rest.slice(100))
      expect(await card.locator("h3", { hasText: "dead letters" }).textContent()).toContain("a later page")
      // The last page: no page follows it.
      expect(await card.locator('[data-listing="dead"] [data-page="next"]').count()).toBe(0)
      // A dead letter of the page shown, removed elsewhere, leaves it at the next poll.
      await onQueue(queue, (admin) => admin.remove([ids[110]!]))
      await expect.poll(shown, patience).toEqual(rest.slice(100).filter((id) => id !== ids[110]))
      // The page failing to be read again: said on its card, shown as last read; the message line is the actions'.
      await page.route("**/dead-letters?**", (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{\"error\":\"down\"}" }))
      await expect.poll(() => card.locator('[data-listing="dead"] [data-page-error]').textContent(), patience).toContain("(down)")
      expect(await shown()).toEqual(rest.slice(100).filter((id) => id !== ids[110]))
      expect(await message()).toContain("removed\":1")
      // Never answered: the page goes on with its snapshots.
      await page.unroute("**/dead-letters?**")
      await page.route("**/dead-letters?**", () => {})
      const before = await status()
      await expect.poll(status, patience).not.toBe(before)
      await page.unroute("**/dead-letters?**")
      await expect.poll(() => card.locator('[data-listing="dead"] [data-page-error]').count(), patience).toBe(0)
      await card.locator('[data-listing="dead"] [data-page="first"]').click()
      await expect.poll(shown, patience).toEqual(ids.slice(0, 50))
      expect(await card.locator('[data-listing="dead"] [data-page="first"]').count()).toBe(0)
      // The waiting jobs, paged alike, each page on its own.
      const upcoming = (listed: string) => card.locator(`[data-listing="upcoming"] [data-page="${listed}"]`)
      const shownWaiting = () => card.locator("[data-upcoming]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-upcoming")))
      await expect.poll(shownWaiting, patience).toEqual(waiting.slice(0, 50))
      await upcoming("next").click()
      await expect.poll(shownWaiting, patience).toEqual(waiting.slice(50))
      expect(await card.locator("h3", { hasText: "waiting for their time" }).textContent()).toContain("a later page")
      expect(await upcoming("next").count()).toBe(0)
      expect(await shown()).toEqual(ids.slice(0, 50))
      // One cancelled elsewhere leaves the page shown at the next poll.
      await onQueue(queue, (admin) => admin.cancel(waiting[55]!))
      await expect.poll(shownWaiting, patience).toEqual(waiting.slice(50).filter((id) => id !== waiting[55]))
      await upcoming("first").click()
      await expect.poll(shownWaiting, patience).toEqual(waiting.slice(0, 50))
      expect(await upcoming("first").count()).toBe(0)
      // A job looked up by the id typed: what the store says of it, in the message line.
      await card.locator("[data-lookup]").click()
      await expect.poll(message, patience).toBe(`${queue}: type a job id to look up`)
      await card.locator("[data-cancel-id]").fill(ids[110]!)
      await card.locator("[data-lookup]").click()
      await expect.poll(message, patience).toContain(`no job "${ids[110]}"`)
      await card.locator("[data-cancel-id]").fill(ids[7]!)
      await card.locator("[data-lookup]").click()
      await expect.poll(message, patience).toBe(`${queue}: job ${ids[7]} is buried, attempts 1, priority 0, last error: no`)
      // The id typed stays in its field as the card is drawn again.
      const drawn = await status()
      await expect.poll(status, patience).not.toBe(drawn)
      expect(await card.locator("[data-cancel-id]").inputValue()).toBe(ids[7])
      // Every waiting job cancelled at once (after its confirmation): none left waiting, on the page and in the store.
      page.once("dialog", (dialog) => dialog.accept())
      await card.locator('[data-action="cancel-waiting"]').click()
      await expect.poll(message, patience).toContain(`"cancelled":${waiting.length - 1}`)
      await expect.poll(shownWaiting, patience).toEqual([])
      expect((await onQueue(queue, (admin) => admin.counts)).ready).toBe(0)
      await page.close()
    } finally {
      program.kill("SIGTERM")
      await program.exited
    }
  }, 120_000)

  it("two queues, each listing paged on its own at once: every id as text; one listing's read failing or never answering holds up and marks its page only; an emptied page gives way to the first", async () => {
    // A served snapshot and later pages the test controls. The queues' names look like the page's keys
    // ("dead" + " " + queue); the ids hold HTML, quotes, spaces, escapes and emoji.
    const names = ["x", "dead x"]
    const odd = ["<img src=x onerror=\"window.pwned=1\">", "a\"b'c", "two  spaces", "\\u0000\\x00", "😀🎉", "</td><script>window.pwned=2</script>"]
    const listings = { dead: "dead-letters", upcoming: "upcoming" } as const
    type Listing = keyof typeof listings
    const idsOf = (listing: Listing, queue: string, page: number) => odd.map((id) => `${listing}|${queue}|${page}|${id}`)
    const later = new Map<string, Array<string>>()
    for (const listing of ["dead", "upcoming"] as const) for (const queue of names) later.set(`${listing}|${queue}`, idsOf(listing, queue, 2))
    const queue = (name: string): QueueSnapshot => ({
      name,
      kind: "durable",
      stats: { workers: 0, queued: 0, delayed: 0, active: 0, submitted: 0, succeeded: 0, failed: 0, died: 0, interrupted: 0, cancelled: 0, abandoned: 0, droppedOutcomes: 0 },
      counts: { ready: 0, leased: 0, completed: 0, buried: 100 },
      storeError: undefined,
      paused: false,
      series: [],
      percentiles: undefined,
      running: [],
      recent: [],
      deadLetters: idsOf("dead", name, 1).map((id, i) => ({ id, attempts: 1, error: "<b>no</b>", payload: "<i>p</i>", cursor: `${i + 1}` })),
      upcoming: idsOf("upcoming", name, 1).map((id, i) => ({ id, runAt: Date.now() + 3_600_000, attempts: 0, cursor: `${i + 1}` })),
      moreUpcoming: true,
      periodic: []
    })
    // How each listing's later page answers, by listing and queue: "hang" never answers.
    const answers = new Map<string, "fail" | "hang">()
    const asked = new Map<string, number>()
    const page = await browser.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    const assets: Record<string, readonly [string, string]> = {
      "/": ["text/html", Page.html],
      "/dashboard.css": ["text/css", Page.style],
      "/dashboard.js": ["text/javascript", Page.script]
    }
    await page.route("http://dashboard.test/**", (route) => {
      const path = new URL(route.request().url()).pathname
      if (path === "/api/snapshot") {
        return route.fulfill({ contentType: "application/json", body: JSON.stringify({ at: Date.now(), actions: false, queues: names.map(queue) }) })
      }
      const read = /^\/api\/queues\/([^/]+)\/(dead-letters|upcoming)$/.exec(path)
      if (read === null) {
        const [contentType, body] = assets[path] ?? ["text/plain", "not here"]
        return route.fulfill({ contentType, body })
      }
      const listing: Listing = read[2] === "upcoming" ? "upcoming" : "dead"
      const key = `${listing}|${decodeURIComponent(read[1]!)}`
      asked.set(key, (asked.get(key) ?? 0) + 1)
      const answer = answers.get(key)
      if (answer === "hang") return
      if (answer === "fail") return route.fulfill({ status: 503, contentType: "application/json", body: "{\"error\":\"<b>down</b>\"}" })
      const ids = later.get(key)!
      const body = listing === "dead"
        ? { deadLetters: ids.map((id, i) => ({ id, attempts: 1, error: "<b>no</b>", payload: "<i>p</i>", cursor: `9${i}` })), more: false }
        : { upcoming: ids.map((id, i) => ({ id, runAt: Date.now() + 3_600_000, attempts: 0, cursor: `9${i}` })), more: false }
      return route.fulfill({ contentType: "application/json", body: JSON.stringify(body) })
    })
    await page.goto("http://dashboard.test/")
    const card = (name: string) => page.locator(`[data-queue="${name}"]`)
    const attribute = { dead: "data-dead", upcoming: "data-upcoming" } as const
    const shown = (listing: Listing, name: string) =>
      card(name).locator(`[${attribute[listing]}]`).evaluateAll((rows, a) => rows.map((row) => [row.getAttribute(a), row.firstChild!.textContent]), attribute[listing])
    const expectShown = (listing: Listing, name: string, ids: ReadonlyArray<string>) =>
      expect.poll(() => shown(listing, name), patience).toEqual(ids.map((id) => [id, id]))
    const button = (listing: Listing, name: string, which: string) => card(name).locator(`[data-listing="${listing}"] [data-page="${which}"]`)
    const pageError = (listing: Listing, name: string) => card(name).locator(`[data-listing="${listing}"] [data-page-error]`)
    for (const name of names) {
      await expectShown("dead", name, idsOf("dead", name, 1))
      await expectShown("upcoming", name, idsOf("upcoming", name, 1))
    }
    // Every listing of both queues on a later page at once, each its own.
    for (const listing of ["dead", "upcoming"] as const) for (const name of names) await button(listing, name, "next").click()
    for (const listing of ["dead", "upcoming"] as const) for (const name of names) await expectShown(listing, name, idsOf(listing, name, 2))
    // As text, never HTML: no element made of an id, an error or a payload, nothing run.
    expect(await page.locator("main img, main script, main td b, main td i, main p b").count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined()
    // One listing back to its first page: the other listing of its queue and the other queue's stay.
    await button("upcoming", "x", "first").click()
    await expectShown("upcoming", "x", idsOf("upcoming", "x", 1))
    await expectShown("dead", "x", idsOf("dead", "x", 2))
    await expectShown("upcoming", "dead x", idsOf("upcoming", "dead x", 2))
    // The waiting jobs of "dead x" failing to be read again: said on that listing only, as text.
    answers.set("upcoming|dead x", "fail")
    await expect.poll(() => pageError("upcoming", "dead x").textContent(), patience).toContain("(<b>down</b>)")
    expect(await pageError("dead", "dead x").count()).toBe(0)
    expect(await card("x").locator("[data-page-error]").count()).toBe(0)
    await expectShown("upcoming", "dead x", idsOf("upcoming", "dead x", 2))
    // Never answered: the other pages are read again all the same, each second, and follow their stores.
    answers.set("upcoming|dead x", "hang")
    const hungAt = asked.get("upcoming|dead x")!
    await expect.poll(() => asked.get("upcoming|dead x"), patience).toBeGreaterThan(hungAt)
    const before = { x: asked.get("dead|x")!, deadX: asked.get("dead|dead x")! }
    later.set("dead|x", idsOf("dead", "x", 2).slice(1))
    const fast = { timeout: 4_000, interval: 100 }
    await expect.poll(() => asked.get("dead|x")! - before.x, fast).toBeGreaterThanOrEqual(2)
    await expect.poll(() => asked.get("dead|dead x")! - before.deadX, fast).toBeGreaterThanOrEqual(2)
    expect(await shown("dead", "x")).toEqual(idsOf("dead", "x", 2).slice(1).map((id) => [id, id]))
    answers.delete("upcoming|dead x")
    await expect.poll(() => pageError("upcoming", "dead x").count(), patience).toBe(0)
    // Emptied elsewhere (its jobs ran, or were cancelled): the first page again, for that listing only.
    later.set("upcoming|dead x", [])
    await expectShown("upcoming", "dead x", idsOf("upcoming", "dead x", 1))
    expect(await button("upcoming", "dead x", "first").count()).toBe(0)
    expect(await card("dead x").locator("h3", { hasText: "waiting for their time" }).textContent()).not.toContain("a later page")
    await expectShown("dead", "dead x", idsOf("dead", "dead x", 2))
    expect(errors).toEqual([])
    await page.close()
  }, 90_000)

  it("the chart plots each sample's rate, placed by the time the samples after it cover", async () => {
    // Three samples: 10 jobs over 2 s, 10 over 8 s (a tick that waited for a slow store), 147 over 5 s.
    const series = [{ t: 0, seconds: 2, ended: 10, failed: 0 }, { t: 0, seconds: 8, ended: 10, failed: 5 }, {
      t: 0,
      seconds: 5,
      ended: 147,
      failed: 0
    }]
    const queue: QueueSnapshot = {
      name: "charted",
      kind: "memory",
      stats: { workers: 1, queued: 0, delayed: 0, active: 0, submitted: 50, succeeded: 45, failed: 5, died: 0, interrupted: 0, cancelled: 0, abandoned: 0, droppedOutcomes: 0 },
      counts: undefined,
      storeError: undefined,
      paused: undefined,
      series,
      percentiles: undefined,
      running: [],
      recent: [],
      deadLetters: [],
      upcoming: undefined,
      moreUpcoming: false,
      periodic: []
    }
    const snapshot: Snapshot = { at: Date.now(), queues: [queue] }
    const page = await browser.newPage()
    const served: Record<string, readonly [string, string]> = {
      "/": ["text/html", Page.html],
      "/dashboard.css": ["text/css", Page.style],
      "/dashboard.js": ["text/javascript", Page.script],
      "/api/snapshot": ["application/json", JSON.stringify(snapshot)]
    }
    await page.route("http://dashboard.test/**", (route) => {
      const [contentType, body] = served[new URL(route.request().url()).pathname] ?? ["text/plain", "not here"]
      return route.fulfill({ contentType, body })
    })
    await page.goto("http://dashboard.test/")
    const lines = page.locator('[data-queue="charted"] .chart polyline')
    await expect.poll(() => lines.count(), patience).toBe(2)
    // The rates 5, 1.25 and 29.4 jobs/s, on a scale of 30 (the peak rounded up), 120 high (4 below,
    // 6 above); a minute spans the 600 wide box, the last sample at its right edge, the others 5 s
    // and 13 s before it.
    const y = (value: number, scale: number) => (120 - 4 - value / scale * 110).toFixed(1)
    expect(await lines.nth(0).getAttribute("points")).toBe(`470.0,${y(5, 30)} 550.0,${y(1.25, 30)} 600.0,${y(29.4, 30)}`)
    // The failure rate: 0, then 5 of 10, then 0.
    expect(await lines.nth(1).getAttribute("points")).toBe(`470.0,${y(0, 1)} 550.0,${y(0.5, 1)} 600.0,${y(0, 1)}`)
    expect(await page.locator('[data-queue="charted"] .chart text').textContent()).toBe("30 jobs/s")
    expect(await page.locator('[data-queue="charted"] .legend .t').textContent()).toBe("jobs/s 29")
    await page.close()
  }, 60_000)
})
