/**
 * The machine a run happened on, for the report's header: numbers from one
 * machine mean little without it.
 */
import * as os from "node:os"

export interface Machine {
  readonly cores: number
  readonly model: string
  readonly memoryGiB: number
  readonly platform: string
  readonly arch: string
}

export const describeMachine = (): Machine => {
  const cpus = os.cpus()
  return {
    cores: cpus.length,
    model: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: os.totalmem() / 1024 ** 3,
    platform: os.platform(),
    arch: os.arch()
  }
}

export const machineLine = (machine: Machine): string =>
  `${machine.cores} cores × ${machine.model}, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.platform} ${machine.arch}`
