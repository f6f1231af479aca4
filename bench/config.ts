/** The bench's knobs, from the environment; BENCH_QUICK=1 shrinks every count for a smoke run. */

export interface BenchConfig {
  quick: boolean
  workers: number
  startupRuns: number
  getSeconds: number
  getRounds: number
  getConnections: number
  smallClients: number
  largeClients: number
  /** Fixed-rate fan-out to the small and the large crowd (messages, messages per second). */
  smallMessages: number
  smallRate: number
  largeMessages: number
  largeRate: number
  /** Messages published back to back to the large crowd: the capacity figure. */
  burstMessages: number
  webcontrolPuts: number
  webcontrolRate: number
  /**
   * Rounds of the small and large scenarios per target, alternating which goes first: each
   * figure is the median round's, so a burst of other work on the shared machine during one
   * round does not decide the ratio. Losses are added up over every round.
   */
  rounds: number
  idleSeconds: number
  scaleClients: number
  scaleHoldSeconds: number
  scaleHeartbeatMs: number
  /** Before each measurement, wait up to quietMaxSeconds (quietBudgetSeconds in all) for all cores to be ≤ quietPercent busy. */
  quietPercent: number
  quietMaxSeconds: number
  quietBudgetSeconds: number
  /** BENCH_NODE_ARGS: node flags for both targets (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
  nodeArgs: string[]
  /** BENCH_TARGET_LOG_DIR: keep each target's stdout and stderr there. */
  targetLogDir: string | undefined
  /** Which scenarios to run (comma list of startup,get,small,large,scale); all by default. */
  only: Set<string>
}

export const SCENARIOS = ['startup', 'get', 'small', 'large', 'scale'] as const

function num(name: string, full: number, quick: number, isQuick: boolean): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return isQuick ? quick : full
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`)
  return value
}

export function loadBenchConfig(env = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true'
  const only = env.BENCH_ONLY?.trim()
  return {
    quick,
    workers: num('BENCH_WORKERS', 2, 2, quick),
    startupRuns: num('BENCH_STARTUP_RUNS', 3, 1, quick),
    getSeconds: num('BENCH_GET_SECONDS', 5, 2, quick),
    getRounds: num('BENCH_GET_ROUNDS', 2, 1, quick),
    getConnections: num('BENCH_GET_CONNECTIONS', 50, 50, quick),
    smallClients: num('BENCH_SMALL_CLIENTS', 1000, 200, quick),
    largeClients: num('BENCH_LARGE_CLIENTS', 10_000, 1000, quick),
    smallMessages: num('BENCH_SMALL_MESSAGES', 100, 20, quick),
    smallRate: num('BENCH_SMALL_RATE', 20, 20, quick),
    // 2/s × 10,000 clients is the same 20,000 deliveries/s as 20/s × 1,000: what the floor and
    // the clients sustain together on 2 cores. 20/s × 10,000 (1.3 GB/s of events) saturates
    // both cores whatever the target, so it would measure the machine, not the service.
    largeMessages: num('BENCH_LARGE_MESSAGES', 40, 10, quick),
    largeRate: num('BENCH_LARGE_RATE', 2, 5, quick),
    burstMessages: num('BENCH_BURST_MESSAGES', 10, 4, quick),
    webcontrolPuts: num('BENCH_WEBCONTROL_PUTS', 30, 10, quick),
    webcontrolRate: num('BENCH_WEBCONTROL_RATE', 10, 10, quick),
    rounds: num('BENCH_ROUNDS', 3, 1, quick),
    idleSeconds: num('BENCH_IDLE_SECONDS', 60, 5, quick),
    scaleClients: num('BENCH_SCALE_CLIENTS', 19_000, 2000, quick),
    scaleHoldSeconds: num('BENCH_SCALE_HOLD_SECONDS', 10, 3, quick),
    scaleHeartbeatMs: num('BENCH_SCALE_HEARTBEAT_MS', 1000, 1000, quick),
    quietPercent: num('BENCH_QUIET_PERCENT', 25, 25, quick),
    quietMaxSeconds: num('BENCH_QUIET_MAX_SECONDS', 10, 2, quick),
    quietBudgetSeconds: num('BENCH_QUIET_BUDGET_SECONDS', 90, 10, quick),
    nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    targetLogDir: env.BENCH_TARGET_LOG_DIR?.trim() || undefined,
    only: new Set(only ? only.split(',').map((s) => s.trim()) : SCENARIOS),
  }
}
