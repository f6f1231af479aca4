/** Reading another process's CPU time, memory and limits from /proc (Linux). */
import { readFileSync } from 'node:fs'

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLK_TCK = 100

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`)
  return Number(m[1])
}

/** Resident set size in KiB (VmRSS). */
export function rssKb(pid: number): number {
  return statusField(pid, 'VmRSS')
}

/** The soft limit on open files of a process (what `ulimit -n` shows inside it). */
export function openFileLimit(pid: number | 'self' = 'self'): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8')
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits)
  if (m === null) throw new Error(`no open-file limit in /proc/${pid}/limits`)
  return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1])
}

/** CPU used over a window, as seconds and as % of one core. */
export class CpuWindow {
  readonly #pid: number
  readonly #cpu0: number
  readonly #t0: number

  constructor(pid: number) {
    this.#pid = pid
    this.#cpu0 = cpuSeconds(pid)
    this.#t0 = performance.now()
  }

  end(): { cpuSeconds: number; wallSeconds: number; percentOfCore: number } {
    const cpu = cpuSeconds(this.#pid) - this.#cpu0
    const wall = (performance.now() - this.#t0) / 1000
    return { cpuSeconds: cpu, wallSeconds: wall, percentOfCore: (cpu / wall) * 100 }
  }
}

/** The whole machine's CPU counters (all cores), from the first line of /proc/stat, in ticks. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string
  const ticks = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return { busy: total - idle, total }
}

/**
 * What the rest of the machine did over a window: the bench's own client processes' CPU
 * (the load generator shares the cores with the target) and how busy all cores were.
 */
export class MachineWindow {
  readonly #pids: number[]
  readonly #cpu0: number[]
  readonly #machine0: { busy: number; total: number }
  readonly #t0: number

  constructor(loadGeneratorPids: number[]) {
    this.#pids = loadGeneratorPids
    this.#cpu0 = loadGeneratorPids.map(cpuSeconds)
    this.#machine0 = machineTicks()
    this.#t0 = performance.now()
  }

  end(): { loadGeneratorPercentOfCore: number; machineBusyPercent: number } {
    const wall = (performance.now() - this.#t0) / 1000
    const cpu = this.#pids.reduce((s, pid, i) => s + cpuSeconds(pid) - (this.#cpu0[i] as number), 0)
    const m = machineTicks()
    const busy = m.busy - this.#machine0.busy
    const total = m.total - this.#machine0.total
    return {
      loadGeneratorPercentOfCore: (cpu / wall) * 100,
      machineBusyPercent: total > 0 ? (busy / total) * 100 : 0,
    }
  }
}

/**
 * Waits (bounded) for the machine to be quiet before a measurement: other work on these
 * shared 2 cores (a build, a test run) would be charged to whichever target runs then.
 * Returns how long it waited and how busy the machine was in the last sample.
 */
export class QuietGate {
  readonly #thresholdPercent: number
  readonly #maxWaitMs: number
  #budgetMs: number
  waitedMs = 0
  gates = 0
  timeouts = 0

  constructor(thresholdPercent: number, maxWaitSeconds: number, budgetSeconds: number) {
    this.#thresholdPercent = thresholdPercent
    this.#maxWaitMs = maxWaitSeconds * 1000
    this.#budgetMs = budgetSeconds * 1000
  }

  async wait(): Promise<{ waitedMs: number; busyPercent: number }> {
    this.gates++
    const t0 = performance.now()
    let busyPercent = 100
    for (;;) {
      const a = machineTicks()
      await new Promise((resolve) => setTimeout(resolve, 300))
      const b = machineTicks()
      busyPercent = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : 0
      const waited = performance.now() - t0
      if (busyPercent <= this.#thresholdPercent) break
      if (waited >= Math.min(this.#maxWaitMs, this.#budgetMs)) {
        this.timeouts++
        break
      }
    }
    const waitedMs = performance.now() - t0
    this.#budgetMs = Math.max(0, this.#budgetMs - waitedMs)
    this.waitedMs += waitedMs
    return { waitedMs, busyPercent }
  }
}
