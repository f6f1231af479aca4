/** One measurement each, against one running target (service or floor); run.ts interleaves them. */
import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import type { Redis } from 'ioredis'
import type { ClientPool, PoolStats } from './client-pool.js'
import { fixture, updateFrame, webcontrolFrames } from './fixtures.js'
import { CpuWindow, MachineWindow, openFileLimit, rssKb } from './proc.js'
import type { Target } from './processes.js'
import type { ExpectedFrame } from './protocol.js'
import { type LatencySummary, nowUs, summarize } from './stats.js'

export interface BenchContext {
  pool: ClientPool
  /** A plain Redis connection for PUBLISH. */
  publisher: Redis
  channel: string
  log(line: string): void
  /** Resolves when the machine is quiet enough to measure (bounded wait). */
  quiet(): Promise<unknown>
}

// ---------------------------------------------------------------- GET /key/...

export interface GetRun {
  seconds: number
  /** The target's CPU over the run (user + system). */
  cpuSeconds: number
  /** Every 2xx response's latency in ms. */
  latencies: number[]
  errors: number
  non2xx: number
  bytesPerResponse: number
}

export interface GetResult {
  path: string
  runs: number
  seconds: number
  requests: number
  reqPerSec: number
  latencyMs: LatencySummary
  cpuPercentOfCore: number
  cpuUsPerRequest: number
  errors: number
  non2xx: number
  bytesPerResponse: number
}

/** autocannon as a library; latencies from its per-response event (sub-ms precision). */
export async function getLoad(target: Target, path: string, seconds: number, connections: number) {
  target.check()
  const latencies: number[] = []
  let bytes = 0
  const instance = autocannon({
    url: `http://127.0.0.1:${target.port}${path}`,
    connections,
    duration: seconds,
  })
  instance.on('response', (_client: unknown, status: number, resBytes: number, ms: number) => {
    if (status >= 200 && status < 300) {
      latencies.push(ms)
      bytes = resBytes
    }
  })
  const t0 = performance.now()
  const cpu = new CpuWindow(target.pid)
  const result = await instance
  const usage = cpu.end()
  return {
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: usage.cpuSeconds,
    latencies,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    bytesPerResponse: bytes,
  } satisfies GetRun
}

/** Several runs of one path on one target, as one figure: requests over time, all latencies. */
export function combineGetRuns(path: string, runs: GetRun[]): GetResult {
  const seconds = runs.reduce((s, r) => s + r.seconds, 0)
  const latencies = runs.flatMap((r) => r.latencies)
  const cpuSeconds = runs.reduce((s, r) => s + r.cpuSeconds, 0)
  return {
    path,
    runs: runs.length,
    seconds,
    requests: latencies.length,
    reqPerSec: latencies.length / seconds,
    latencyMs: summarize(latencies),
    cpuPercentOfCore: (cpuSeconds / seconds) * 100,
    cpuUsPerRequest: (cpuSeconds * 1e6) / Math.max(1, latencies.length),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    bytesPerResponse: runs[0]?.bytesPerResponse ?? 0,
  }
}

// ---------------------------------------------------------------- SSE clients

export interface ConnectOutcome {
  requested: number
  connected: number
  failed: number
  seconds: number
}

export async function connectClients(ctx: BenchContext, target: Target, count: number) {
  target.check()
  const r = await ctx.pool.connect(target.port, count)
  return { requested: count, connected: r.connected, failed: r.failed, seconds: r.ms / 1000 }
}

/** Polls the workers until `expected` updates arrived, or nothing new came for `quietMs`. */
async function awaitUpdates(ctx: BenchContext, expected: number, quietMs = 10_000): Promise<PoolStats> {
  let last = -1
  let lastChange = performance.now()
  for (;;) {
    const stats = await ctx.pool.stats()
    if (stats.updates >= expected) return stats
    if (stats.updates !== last) {
      last = stats.updates
      lastChange = performance.now()
    } else if (performance.now() - lastChange > quietMs) {
      return stats
    }
    await sleep(100)
  }
}

/** Runs `send(k)` for k = 0..count-1 at a fixed rate; returns each send's hrtime in µs. */
async function paced(count: number, rate: number, send: (k: number) => void): Promise<number[]> {
  const times: number[] = []
  const t0 = performance.now()
  for (let k = 0; k < count; k++) {
    const wait = t0 + (k * 1000) / rate - performance.now()
    if (wait > 1) await sleep(wait)
    times.push(nowUs())
    send(k)
  }
  return times
}

// ---------------------------------------------------------------- fan-out

export interface FanoutResult {
  clients: number
  messages: number
  rate: number
  expected: number
  delivered: number
  lost: number
  unknown: number
  outOfOrder: number
  checked: number
  mismatches: number
  dropped: number
  latencyMs: LatencySummary
  deliveriesPerSec: number
  cpuSeconds: number
  cpuUsPerDelivery: number
  cpuPercentOfCore: number
  /** The bench's own client processes over the same window, and all cores' busy share. */
  loadGeneratorPercentOfCore: number
  machineBusyPercent: number
  rssKbBefore: number
  rssKbAfter: number
  stats: PoolStats
}

/**
 * Publishes real fixtures (Weather 4.8 KB and NFL 7.8 KB, alternating, bytes as in the files)
 * at a fixed rate. Nothing is added to a message: the k-th update a client receives is the
 * k-th published (its kind is checked against the alternation), so its latency is receive
 * time minus the publisher's clock at the k-th PUBLISH (one monotonic clock for all processes).
 */
export async function fanout(
  ctx: BenchContext,
  target: Target,
  clients: number,
  messages: number,
  rate: number,
): Promise<FanoutResult> {
  target.check()
  const payloads = [fixture('Weather.json'), fixture('NFL.json')]
  const frames: ExpectedFrame[] = payloads.map((p, kind) => ({ kind, bytes: updateFrame(p) }))
  await ctx.pool.phase(frames, [0, 1], messages)
  await ctx.quiet()
  const rssKbBefore = rssKb(target.pid)
  const cpu = new CpuWindow(target.pid)
  const machine = new MachineWindow(ctx.pool.pids)
  const published: Promise<number>[] = []
  const sendTimes = await paced(messages, rate, (k) => {
    published.push(ctx.publisher.publish(ctx.channel, payloads[k % 2] as Buffer))
  })
  const receivers = await Promise.all(published)
  if (receivers.some((n) => n !== 1))
    ctx.log(`  warning: a PUBLISH reached ${receivers.join(',')} subscribers`)
  const expected = clients * messages
  const stats = await awaitUpdates(ctx, expected)
  target.check()
  const usage = cpu.end()
  const rest = machine.end()
  const latencies = await ctx.pool.latencies(sendTimes)
  const first = sendTimes[0] as number
  const spanS = stats.lastUpdateUs > first ? (stats.lastUpdateUs - first) / 1e6 : Number.NaN
  return {
    clients,
    messages,
    rate,
    expected,
    delivered: stats.updates,
    lost: expected - stats.updates,
    unknown: stats.unknown,
    outOfOrder: stats.outOfOrder,
    checked: stats.checked,
    mismatches: stats.mismatches,
    dropped: stats.dropped,
    latencyMs: summarize(latencies),
    deliveriesPerSec: stats.updates / spanS,
    cpuSeconds: usage.cpuSeconds,
    cpuUsPerDelivery: (usage.cpuSeconds * 1e6) / Math.max(1, stats.updates),
    cpuPercentOfCore: usage.percentOfCore,
    ...rest,
    rssKbBefore,
    rssKbAfter: rssKb(target.pid),
    stats,
  }
}

/** The round whose `rank` is the median (the lower middle one for an even count). */
export function medianRound<T>(rounds: T[], rank: (round: T) => number): T {
  if (rounds.length === 0) throw new Error('no rounds')
  const sorted = [...rounds].sort((a, b) => rank(a) - rank(b))
  return sorted[Math.floor((sorted.length - 1) / 2)] as T
}

/** Rounds of a fan-out as one result: the median round by `rank`, with every round's counts added up. */
export function combineFanoutRounds(
  rounds: FanoutResult[],
  rank: (round: FanoutResult) => number,
): FanoutResult {
  const sum = (
    field:
      | 'expected'
      | 'delivered'
      | 'lost'
      | 'unknown'
      | 'outOfOrder'
      | 'checked'
      | 'mismatches'
      | 'dropped',
  ) => rounds.reduce((total, round) => total + round[field], 0)
  return {
    ...medianRound(rounds, rank),
    expected: sum('expected'),
    delivered: sum('delivered'),
    lost: sum('lost'),
    unknown: sum('unknown'),
    outOfOrder: sum('outOfOrder'),
    checked: sum('checked'),
    mismatches: sum('mismatches'),
    dropped: sum('dropped'),
  }
}

// ---------------------------------------------------------------- webcontrol

export interface WebcontrolResult {
  clients: number
  puts: number
  accepted: number
  expected: number
  delivered: number
  lost: number
  latencyMs: LatencySummary
}

function put(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.end()
  })
}

/** PUT /webcontrol/pp at a fixed rate; latency from just before each PUT to each client's receipt. */
export async function webcontrol(
  ctx: BenchContext,
  target: Target,
  clients: number,
  puts: number,
  rate: number,
): Promise<WebcontrolResult> {
  target.check()
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  // Warms the connection and the route with an invalid command: a 400 broadcasts nothing.
  await put(agent, target.port, '/webcontrol/PP')
  await ctx.pool.phase(
    webcontrolFrames('pp').map((bytes) => ({ kind: 0, bytes })),
    [],
    puts,
  )
  await ctx.quiet()
  const statuses: Promise<number>[] = []
  const sendTimes = await paced(puts, rate, () => {
    statuses.push(put(agent, target.port, '/webcontrol/pp'))
  })
  const accepted = (await Promise.all(statuses)).filter((s) => s === 202).length
  agent.destroy()
  const expected = clients * puts
  const stats = await awaitUpdates(ctx, expected)
  const latencies = await ctx.pool.latencies(sendTimes)
  return {
    clients,
    puts,
    accepted,
    expected,
    delivered: stats.updates,
    lost: expected - stats.updates,
    latencyMs: summarize(latencies),
  }
}

/** Rounds of the web-control scenario as one result: the median round by p99, counts added up. */
export function combineWebcontrolRounds(rounds: WebcontrolResult[]): WebcontrolResult {
  const sum = (field: 'puts' | 'accepted' | 'expected' | 'delivered' | 'lost') =>
    rounds.reduce((total, round) => total + round[field], 0)
  return {
    ...medianRound(rounds, (round) => round.latencyMs.p99),
    puts: sum('puts'),
    accepted: sum('accepted'),
    expected: sum('expected'),
    delivered: sum('delivered'),
    lost: sum('lost'),
  }
}

// ---------------------------------------------------------------- idle

export interface IdleResult {
  clients: number
  seconds: number
  cpuSeconds: number
  cpuPercentOfCore: number
  loadGeneratorPercentOfCore: number
  machineBusyPercent: number
  heartbeats: number
  rssKbStart: number
  rssKbEnd: number
}

/** Connected clients and no traffic but the heartbeats: the target's CPU and RSS. */
export async function idle(ctx: BenchContext, target: Target, clients: number, seconds: number) {
  target.check()
  await ctx.pool.phase([], [], 0)
  await ctx.quiet()
  const rssKbStart = rssKb(target.pid)
  const cpu = new CpuWindow(target.pid)
  const machine = new MachineWindow(ctx.pool.pids)
  await sleep(seconds * 1000)
  target.check()
  const usage = cpu.end()
  const rest = machine.end()
  const stats = await ctx.pool.stats()
  return {
    clients,
    seconds: usage.wallSeconds,
    cpuSeconds: usage.cpuSeconds,
    cpuPercentOfCore: usage.percentOfCore,
    ...rest,
    heartbeats: stats.heartbeats,
    rssKbStart,
    rssKbEnd: rssKb(target.pid),
  } satisfies IdleResult
}

// ---------------------------------------------------------------- scale

export interface ScaleResult {
  clients: number
  connected: number
  failed: number
  connectSeconds: number
  holdSeconds: number
  heartbeatMs: number
  minHeartbeatsPerClient: number
  expectedHeartbeatsPerClient: number
  /** Connected clients that heard fewer heartbeats than expected. */
  starved: number
  dropped: number
  socketErrors: number
  errorSamples: string[]
  errors: number
  targetOpenFileLimit: number
  workerOpenFileLimit: number
  cpuPercentOfCore: number
  rssKbBefore: number
  rssKbAfter: number
}

/** Many streams held at once with fast heartbeats: every client must stay up and hear them. */
export async function scale(
  ctx: BenchContext,
  target: Target,
  clients: number,
  holdSeconds: number,
  heartbeatMs: number,
): Promise<ScaleResult> {
  target.check()
  const rssKbBefore = rssKb(target.pid)
  const connect = await connectClients(ctx, target, clients)
  await ctx.pool.phase([], [], 0)
  await ctx.quiet()
  target.check()
  const cpu = new CpuWindow(target.pid)
  await sleep(holdSeconds * 1000)
  target.check()
  const usage = cpu.end()
  // Timer phase against the hold window: allow one tick either side.
  const expectedHeartbeats = Math.max(1, Math.floor((holdSeconds * 1000) / heartbeatMs) - 1)
  const stats = await ctx.pool.stats(expectedHeartbeats)
  return {
    clients,
    connected: connect.connected,
    failed: connect.failed,
    connectSeconds: connect.seconds,
    holdSeconds: usage.wallSeconds,
    heartbeatMs,
    minHeartbeatsPerClient: stats.minHeartbeats,
    expectedHeartbeatsPerClient: expectedHeartbeats,
    starved: stats.belowHeartbeatFloor,
    dropped: stats.dropped,
    socketErrors: stats.errors,
    errorSamples: stats.errorSamples,
    errors: connect.failed + stats.dropped + stats.errors + stats.unknown + stats.belowHeartbeatFloor,
    targetOpenFileLimit: openFileLimit(target.pid),
    workerOpenFileLimit: stats.openFileLimit,
    cpuPercentOfCore: usage.percentOfCore,
    rssKbBefore,
    rssKbAfter: rssKb(target.pid),
  }
}
