/**
 * The test set-up's decision: install the servers, or stop with the exact
 * command, never run on and fail test by test.
 */
import { describe, expect, it } from "vitest"
import { allNeeds, browserNeeds, installCommand, plan, serverNeeds, terminalNeeds } from "./support/provision.ts"

const redis = serverNeeds.filter((need) => need.binary === "redis-server")
const postgres = serverNeeds.filter((need) => need.package === "postgresql")
const root = { root: true, apt: true, noInstall: false }

describe("test set-up", () => {
  it("does nothing when every server binary is there", () => {
    expect(plan([], root)).toEqual({ _tag: "Ready" })
    expect(plan([], { root: false, apt: false, noInstall: true })).toEqual({ _tag: "Ready" })
  })

  it("installs the missing packages, each once, as root with apt-get", () => {
    expect(plan([...redis, ...postgres], root)).toEqual({ _tag: "Install", packages: ["redis-server", "postgresql"] })
    expect(plan(postgres, root)).toEqual({ _tag: "Install", packages: ["postgresql"] })
  })

  it("stops with the exact command when it may not install", () => {
    const decided = plan(redis, { root: false, apt: true, noInstall: false })
    expect(decided).toEqual({ _tag: "Stop", message: expect.stringContaining(installCommand(["redis-server"], true)) })
    expect(installCommand(["redis-server"], true)).toBe(
      "sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server"
    )
  })

  it("stops, without sudo in the command, for root who asked not to install", () => {
    const decided = plan(redis, { root: true, apt: true, noInstall: true })
    expect(decided._tag).toBe("Stop")
    expect(decided._tag === "Stop" && decided.message).toContain(
      "\n  apt-get update && apt-get install -y --no-install-recommends redis-server\n"
    )
  })

  it("installs Debian's chromium for the dashboard's browser tests, with the servers", () => {
    expect(allNeeds).toEqual([...serverNeeds, ...browserNeeds, ...terminalNeeds])
    expect(plan([...redis, ...browserNeeds], root)).toEqual({ _tag: "Install", packages: ["redis-server", "chromium"] })
    const decided = plan(browserNeeds, { root: false, apt: true, noInstall: false })
    expect(decided._tag === "Stop" && decided.message).toContain(installCommand(["chromium"], true))
  })

  it("names the packages when there is no apt-get", () => {
    const decided = plan([...redis, ...postgres], { root: true, apt: false, noInstall: false })
    expect(decided._tag).toBe("Stop")
    expect(decided._tag === "Stop" && decided.message).toContain("(redis-server, postgresql)")
  })
})
