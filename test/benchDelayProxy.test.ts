/**
 * The delay proxy of `bench/durable/versus.ts` (`bench/kit/delayProxy.ts`):
 * what passes through it arrives whole and in order, each way, and no
 * sooner than its delay. An echo server here, the proxy in a child
 * process as `versus.ts` runs it; real timers, so it is not in the unit
 * list.
 */
import { type ChildProcess, spawn } from "node:child_process"
import net from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const delayMs = 25
const proxyScript = fileURLToPath(new URL("../bench/kit/delayProxy.ts", import.meta.url))

let echo: net.Server
let proxy: ChildProcess
let proxyPort: number

beforeAll(async () => {
  echo = net.createServer((socket) => socket.pipe(socket))
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
  const echoPort = (echo.address() as net.AddressInfo).port
  proxy = spawn(process.execPath, [proxyScript, "0", String(echoPort), String(delayMs)], { stdio: ["ignore", "pipe", "inherit"] })
  const ready = await new Promise<string>((resolve) => proxy.stdout!.once("data", (line: Buffer) => resolve(line.toString())))
  proxyPort = Number(/^ready (\d+)/.exec(ready)![1])
})

afterAll(async () => {
  proxy.kill()
  await new Promise((resolve) => echo.close(resolve))
})

describe("bench delay proxy", () => {
  it("passes every chunk on, in order, each way held at least its delay", async () => {
    const socket = net.connect({ port: proxyPort, host: "127.0.0.1" })
    await new Promise((resolve) => socket.once("connect", resolve))
    const chunks = ["one,", "two,", "three"]
    const sent = performance.now()
    let firstAt: number | undefined
    let received = ""
    const all = new Promise<void>((resolve) =>
      socket.on("data", (data: Buffer) => {
        firstAt ??= performance.now()
        received += data.toString()
        if (received.length >= chunks.join("").length) resolve()
      })
    )
    for (const chunk of chunks) socket.write(chunk)
    await all
    socket.destroy()
    expect(received).toBe(chunks.join(""))
    // There and back: held twice. (A timer never fires before its time; a millisecond spared for rounding.)
    expect(firstAt! - sent).toBeGreaterThanOrEqual(2 * delayMs - 1)
  })

  it("refuses arguments that are not three whole numbers", async () => {
    const child = spawn(process.execPath, [proxyScript, "0", "x"], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr!.on("data", (data: Buffer) => stderr += data.toString())
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).not.toBe(0)
    expect(stderr).toContain("usage: node bench/kit/delayProxy.ts")
  })
})
