/**
 * `npm run bench`: the service against the reference floor (bench/floor.ts), interleaved
 * scenario by scenario so that drift on this shared machine hits both. Prints a table and
 * writes the raw figures to bench/results/<timestamp>.json. BENCH_QUICK=1 for a smoke run;
 * every count and duration has a knob (bench/config.ts).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientPool } from './client-pool.js'
import { type BenchConfig, loadBenchConfig } from './config.js'
import { fixture, storedForm } from './fixtures.js'
import { FLOOR_ENTRY, RESULTS_DIR, SERVICE_ENTRY, WORKER_ENTRY } from './paths.js'
import { openFileLimit, QuietGate, rssKb } from './proc.js'
import { BenchRedis, Target, type TargetKind } from './processes.js'
import { type Row, ratio, renderTable } from './report.js'
import {
  type BenchContext,
  combineFanoutRounds,
  combineGetRuns,
  combineWebcontrolRounds,
  connectClients,
  type FanoutResult,
  fanout,
  type GetResult,
  type GetRun,
  getLoad,
  type IdleResult,
  idle,
  type ScaleResult,
  scale,
  type WebcontrolResult,
  webcontrol,
} from './scenarios.js'
import { median } from './stats.js'

type Pair<T> = { service?: T; floor?: T }

interface Results {
  startup?: Pair<{ runsMs: number[]; medianMs: number }>
  get?: Record<string, Pair<GetResult>>
  /** `fanout`, `webcontrol` and `burst`: the median round's figures, counts over all rounds; `rounds`: each round. */
  small?: Pair<{
    connectSeconds: number
    connected: number
    fanout: FanoutResult
    webcontrol: WebcontrolResult
    rounds: SmallRound[]
  }>
  large?: Pair<{
    connectSeconds: number
    connected: number
    rssKbBaseline: number
    rssKbPerClient: number
    idle: IdleResult
    fanout: FanoutResult
    burst: FanoutResult
    rounds: LargeRound[]
  }>
  scale?: Pair<ScaleResult>
}

interface SmallRound {
  connectSeconds: number
  connected: number
  fanout: FanoutResult
  webcontrol: WebcontrolResult
}

interface LargeRound {
  connectSeconds: number
  connected: number
  fanout: FanoutResult
  burst: FanoutResult
}

const out = (line: string) => process.stdout.write(`${line}\n`)
const KINDS: TargetKind[] = ['service', 'floor']
/** Alternates which target goes first, so neither always runs on the "fresher" machine. */
const order = (i: number): TargetKind[] => (i % 2 === 0 ? KINDS : [...KINDS].reverse())

function machine() {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim()
    } catch {
      return 'unknown'
    }
  }
  return {
    nproc: Number(sh('nproc', [])),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: sh('uname', ['-r']),
    openFileLimit: openFileLimit(),
  }
}

async function main(): Promise<void> {
  const config = loadBenchConfig()
  for (const entry of [SERVICE_ENTRY, FLOOR_ENTRY, WORKER_ENTRY]) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (npm run bench does)`)
  }
  const started = new Date()
  const t0 = performance.now()
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`
  const info = machine()
  out(
    `bench: ${info.nproc} cores, node ${info.node}, kernel ${info.kernel}${config.quick ? ' (BENCH_QUICK)' : ''}`,
  )

  // Each worker holds its share of the sockets under its own open-file limit.
  const most = Math.max(config.largeClients, config.scaleClients, config.smallClients)
  const workers = Math.max(config.workers, Math.ceil(most / Math.max(1000, info.openFileLimit - 512)))
  const redis = await BenchRedis.start()
  const publisher = redis.client()
  const pool = ClientPool.start(workers)
  const gate = new QuietGate(config.quietPercent, config.quietMaxSeconds, config.quietBudgetSeconds)
  const ctx: BenchContext = { pool, publisher, channel: 'update', log: out, quiet: () => gate.wait() }
  const results: Results = {}
  const live = new Set<Target>()
  const start = async (kind: TargetKind, heartbeatMs?: number) => {
    const target = await Target.start(kind, {
      redisUrl: redis.url,
      nodeArgs: config.nodeArgs,
      ...(config.targetLogDir === undefined ? {} : { logDir: config.targetLogDir }),
      ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
    })
    live.add(target)
    return target
  }
  const stop = async (target: Target) => {
    await target.stop()
    live.delete(target)
  }
  out(`redis-server on port ${redis.port}; ${workers} client workers (open-file limit ${info.openFileLimit})`)

  try {
    // The store updater's form of each fixture the GET routes read.
    for (const name of ['Weather.json', 'AQI.json', 'Moon.json']) {
      const { type, value } = storedForm(fixture(name))
      await publisher.set(type, value)
    }

    if (config.only.has('startup')) {
      out(`[${elapsed()}] start-up: spawn → /ready 200, ${config.startupRuns} runs each`)
      const runs: Record<TargetKind, number[]> = { service: [], floor: [] }
      for (let i = 0; i < config.startupRuns; i++) {
        for (const kind of order(i)) {
          await gate.wait()
          const target = await start(kind)
          runs[kind].push(target.readyMs)
          await stop(target)
        }
      }
      results.startup = {
        service: { runsMs: runs.service, medianMs: median(runs.service) },
        floor: { runsMs: runs.floor, medianMs: median(runs.floor) },
      }
    }

    if (config.only.has('get')) {
      out(
        `[${elapsed()}] GET: ${config.getConnections} connections, ${config.getRounds} × ${config.getSeconds} s each`,
      )
      const targets = { service: await start('service'), floor: await start('floor') }
      results.get = {}
      for (const path of ['/key/Weather', '/key/Environment']) {
        const runs: Record<TargetKind, GetRun[]> = { service: [], floor: [] }
        for (const kind of KINDS) await getLoad(targets[kind], path, 1, config.getConnections) // warm-up
        for (let round = 0; round < config.getRounds; round++) {
          for (const kind of order(round)) {
            await gate.wait()
            runs[kind].push(await getLoad(targets[kind], path, config.getSeconds, config.getConnections))
          }
        }
        results.get[path] = {
          service: combineGetRuns(path, runs.service),
          floor: combineGetRuns(path, runs.floor),
        }
      }
      await stop(targets.service)
      await stop(targets.floor)
    }

    if (config.only.has('small')) {
      const rounds: Record<TargetKind, SmallRound[]> = { service: [], floor: [] }
      for (let round = 0; round < config.rounds; round++) {
        for (const kind of order(round)) {
          out(
            `[${elapsed()}] ${kind}: ${config.smallClients} SSE clients, round ${round + 1}/${config.rounds}: fan-out, then webcontrol`,
          )
          const target = await start(kind)
          const conn = await connectClients(ctx, target, config.smallClients)
          const fan = await fanout(ctx, target, conn.connected, config.smallMessages, config.smallRate)
          const wc = await webcontrol(
            ctx,
            target,
            conn.connected,
            config.webcontrolPuts,
            config.webcontrolRate,
          )
          rounds[kind].push({
            connectSeconds: conn.seconds,
            connected: conn.connected,
            fanout: fan,
            webcontrol: wc,
          })
          await pool.closeAll()
          await stop(target)
        }
      }
      results.small = {}
      for (const kind of KINDS) {
        const all = rounds[kind]
        results.small[kind] = {
          connectSeconds: median(all.map((r) => r.connectSeconds)),
          connected: Math.min(...all.map((r) => r.connected)),
          fanout: combineFanoutRounds(
            all.map((r) => r.fanout),
            (f) => f.latencyMs.p99,
          ),
          webcontrol: combineWebcontrolRounds(all.map((r) => r.webcontrol)),
          rounds: all,
        }
      }
    }

    if (config.only.has('large')) {
      const rounds: Record<TargetKind, LargeRound[]> = { service: [], floor: [] }
      const idled: Partial<
        Record<TargetKind, { rssKbBaseline: number; idle: IdleResult; connected: number }>
      > = {}
      for (let round = 0; round < config.rounds; round++) {
        for (const kind of order(round + 1)) {
          // The idle figures (CPU, RSS per client) once, in the first round.
          const idling = round === 0
          out(
            `[${elapsed()}] ${kind}: ${config.largeClients} SSE clients, round ${round + 1}/${config.rounds}: ${idling ? `idle ${config.idleSeconds} s, ` : ''}fan-out, burst`,
          )
          const target = await start(kind)
          await sleep(1000)
          const rssKbBaseline = rssKb(target.pid)
          const conn = await connectClients(ctx, target, config.largeClients)
          if (idling) {
            await sleep(2000)
            const idleResult = await idle(ctx, target, conn.connected, config.idleSeconds)
            idled[kind] = { rssKbBaseline, idle: idleResult, connected: conn.connected }
          }
          const fan = await fanout(ctx, target, conn.connected, config.largeMessages, config.largeRate)
          const burst = await fanout(
            ctx,
            target,
            conn.connected,
            config.burstMessages,
            Number.POSITIVE_INFINITY,
          )
          rounds[kind].push({ connectSeconds: conn.seconds, connected: conn.connected, fanout: fan, burst })
          await pool.closeAll()
          await stop(target)
        }
      }
      results.large = {}
      for (const kind of KINDS) {
        const all = rounds[kind]
        const first = idled[kind]
        if (first === undefined) continue
        results.large[kind] = {
          connectSeconds: median(all.map((r) => r.connectSeconds)),
          connected: Math.min(...all.map((r) => r.connected)),
          rssKbBaseline: first.rssKbBaseline,
          rssKbPerClient: (first.idle.rssKbEnd - first.rssKbBaseline) / Math.max(1, first.connected),
          idle: first.idle,
          fanout: combineFanoutRounds(
            all.map((r) => r.fanout),
            (f) => f.latencyMs.p99,
          ),
          burst: combineFanoutRounds(
            all.map((r) => r.burst),
            (b) => -b.deliveriesPerSec,
          ),
          rounds: all,
        }
      }
    }

    if (config.only.has('scale')) {
      results.scale = {}
      for (const kind of order(0)) {
        out(
          `[${elapsed()}] ${kind}: ${config.scaleClients} streams, heartbeat every ${config.scaleHeartbeatMs} ms`,
        )
        const target = await start(kind, config.scaleHeartbeatMs)
        results.scale[kind] = await scale(
          ctx,
          target,
          config.scaleClients,
          config.scaleHoldSeconds,
          config.scaleHeartbeatMs,
        )
        await pool.closeAll()
        await stop(target)
      }
    }
  } finally {
    for (const target of live) await target.stop()
    await pool.stop()
    publisher.disconnect()
    await redis.stop()
  }

  const rows = tableRows(config, results)
  const table = renderTable(rows)
  out('')
  out(table)
  out('')
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${started.toISOString().replace(/[:.]/g, '-')}.json`)
  const pkg = JSON.parse(readFileSync(join(RESULTS_DIR, '..', '..', 'package.json'), 'utf8')) as {
    version: string
  }
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: started.toISOString(),
        seconds: (performance.now() - t0) / 1000,
        serviceVersion: pkg.version,
        machine: info,
        workers,
        quietGate: { gates: gate.gates, waitedSeconds: gate.waitedMs / 1000, timeouts: gate.timeouts },
        config: { ...config, only: [...config.only] },
        results,
        rows: rows.map((r) => ({ ...r, ratio: ratio(r.service, r.floor) })),
      },
      null,
      2,
    )}\n`,
  )
  out(
    `quiet gate: ${gate.gates} waits, ${(gate.waitedMs / 1000).toFixed(1)} s in all, ${gate.timeouts} gave up on a busy machine`,
  )
  const failed = rows.filter((r) => r.pass === false).length
  out(
    `${failed === 0 ? 'all targets met' : `${failed} target(s) not met`}; total ${elapsed()}; raw results: ${file}`,
  )
}

function tableRows(config: BenchConfig, r: Results): Row[] {
  const rows: Row[] = []
  const nan = Number.NaN
  if (r.startup) {
    const s = r.startup.service?.medianMs ?? nan
    rows.push({
      figure: `start-up: spawn → /ready 200, median of ${config.startupRuns}`,
      service: s,
      floor: r.startup.floor?.medianMs ?? nan,
      unit: 'ms',
      target: 'service ≤ 1000 ms',
      pass: s <= 1000,
      digits: 0,
    })
  }
  for (const [path, pair] of Object.entries(r.get ?? {})) {
    const s = pair.service
    const f = pair.floor
    if (s === undefined || f === undefined) continue
    const clean = s.errors === 0 && s.non2xx === 0
    rows.push({
      figure: `GET ${path} @${config.getConnections} conns`,
      service: s.reqPerSec,
      floor: f.reqPerSec,
      unit: 'req/s',
      target: '≥ 0.80× floor, no errors',
      pass: clean && s.reqPerSec >= 0.8 * f.reqPerSec,
      digits: 0,
    })
    rows.push({ figure: `GET ${path} p50`, service: s.latencyMs.p50, floor: f.latencyMs.p50, unit: 'ms' })
    rows.push({
      figure: `GET ${path} p99`,
      service: s.latencyMs.p99,
      floor: f.latencyMs.p99,
      unit: 'ms',
      target: '≤ 1.25× floor',
      pass: s.latencyMs.p99 <= 1.25 * f.latencyMs.p99,
    })
    rows.push({
      figure: `GET ${path} CPU per request`,
      service: s.cpuUsPerRequest,
      floor: f.cpuUsPerRequest,
      unit: 'µs',
    })
    rows.push({
      figure: `GET ${path} target CPU`,
      service: s.cpuPercentOfCore,
      floor: f.cpuPercentOfCore,
      unit: '% of a core',
    })
  }
  const lossRow = (label: string, s: FanoutResult, f: FanoutResult): Row => {
    const bad = (x: FanoutResult) => x.lost + x.outOfOrder + x.mismatches + x.unknown
    const how = Number.isFinite(s.rate) ? `@${s.rate}/s` : 'back to back'
    const rounds = config.rounds > 1 ? `${config.rounds} × ` : ''
    return {
      figure: `${label}: lost of ${s.expected} (${rounds}${s.messages} msgs ${how})`,
      service: bad(s),
      floor: bad(f),
      unit: '',
      target: '0 lost',
      pass: bad(s) === 0,
      digits: 0,
    }
  }
  const fanRows = (label: string, s: FanoutResult, f: FanoutResult, targets: boolean) => {
    rows.push(lossRow(label, s, f))
    rows.push({
      figure: `${label}: deliveries/s`,
      service: s.deliveriesPerSec,
      floor: f.deliveriesPerSec,
      unit: '',
      digits: 0,
    })
    rows.push({
      figure: `${label}: latency p50`,
      service: s.latencyMs.p50,
      floor: f.latencyMs.p50,
      unit: 'ms',
    })
    rows.push({
      figure: `${label}: latency p99`,
      service: s.latencyMs.p99,
      floor: f.latencyMs.p99,
      unit: 'ms',
      ...(targets ? { target: '≤ 1.5× floor', pass: s.latencyMs.p99 <= 1.5 * f.latencyMs.p99 } : {}),
    })
    rows.push({
      figure: `${label}: latency max`,
      service: s.latencyMs.max,
      floor: f.latencyMs.max,
      unit: 'ms',
    })
    rows.push({
      figure: `${label}: CPU per delivered event`,
      service: s.cpuUsPerDelivery,
      floor: f.cpuUsPerDelivery,
      unit: 'µs',
      ...(targets ? { target: '≤ 1.2× floor', pass: s.cpuUsPerDelivery <= 1.2 * f.cpuUsPerDelivery } : {}),
    })
    contextRows(label, s, f)
  }
  const contextRows = (label: string, s: FanoutResult, f: FanoutResult) => {
    rows.push({
      figure: `${label}: target CPU`,
      service: s.cpuPercentOfCore,
      floor: f.cpuPercentOfCore,
      unit: '% of a core',
    })
    rows.push({
      figure: `${label}: bench clients' CPU`,
      service: s.loadGeneratorPercentOfCore,
      floor: f.loadGeneratorPercentOfCore,
      unit: '% of a core',
    })
    rows.push({
      figure: `${label}: machine busy`,
      service: s.machineBusyPercent,
      floor: f.machineBusyPercent,
      unit: '% of all cores',
    })
  }
  const small = r.small
  if (small?.service && small.floor) {
    const label = `fan-out ${config.smallClients}`
    rows.push({
      figure: `${label}: clients connected`,
      service: small.service.connected,
      floor: small.floor.connected,
      unit: '',
      digits: 0,
    })
    fanRows(label, small.service.fanout, small.floor.fanout, false)
  }
  const large = r.large
  if (large?.service && large.floor) {
    const label = `fan-out ${config.largeClients}`
    rows.push({
      figure: `${label}: clients connected`,
      service: large.service.connected,
      floor: large.floor.connected,
      unit: '',
      target: `${config.largeClients}`,
      pass: large.service.connected === config.largeClients,
      digits: 0,
    })
    fanRows(label, large.service.fanout, large.floor.fanout, true)
    const s = large.service.burst
    const f = large.floor.burst
    const burst = `burst ${config.largeClients}`
    rows.push(lossRow(burst, s, f))
    rows.push({
      figure: `${burst}: deliveries/s (capacity)`,
      service: s.deliveriesPerSec,
      floor: f.deliveriesPerSec,
      unit: '',
      target: '≥ 0.80× floor',
      pass: s.deliveriesPerSec >= 0.8 * f.deliveriesPerSec,
      digits: 0,
    })
    rows.push({
      figure: `${burst}: last delivery after`,
      service: s.latencyMs.max,
      floor: f.latencyMs.max,
      unit: 'ms',
    })
    rows.push({
      figure: `${burst}: CPU per delivered event`,
      service: s.cpuUsPerDelivery,
      floor: f.cpuUsPerDelivery,
      unit: 'µs',
    })
    contextRows(burst, s, f)
  }
  if (small?.service && small.floor) {
    const s = small.service.webcontrol
    const f = small.floor.webcontrol
    const label = `webcontrol PUT → SSE ${config.smallClients}`
    rows.push({
      figure: `${label}: lost of ${s.expected}`,
      service: s.lost + (s.puts - s.accepted) * s.clients,
      floor: f.lost + (f.puts - f.accepted) * f.clients,
      unit: '',
      target: '0 lost, every PUT 202',
      pass: s.lost === 0 && s.accepted === s.puts,
      digits: 0,
    })
    rows.push({ figure: `${label}: p50`, service: s.latencyMs.p50, floor: f.latencyMs.p50, unit: 'ms' })
    rows.push({
      figure: `${label}: p99`,
      service: s.latencyMs.p99,
      floor: f.latencyMs.p99,
      unit: 'ms',
      target: '≤ 2× floor',
      pass: s.latencyMs.p99 <= 2 * f.latencyMs.p99,
    })
  }
  if (large?.service && large.floor) {
    const s = large.service
    const f = large.floor
    rows.push({
      figure: `idle ${config.largeClients} clients ${config.idleSeconds} s: CPU`,
      service: s.idle.cpuPercentOfCore,
      floor: f.idle.cpuPercentOfCore,
      unit: '% of a core',
      target: 'service ≤ 5%',
      pass: s.idle.cpuPercentOfCore <= 5,
    })
    rows.push({
      figure: 'RSS before clients',
      service: s.rssKbBaseline / 1024,
      floor: f.rssKbBaseline / 1024,
      unit: 'MiB',
    })
    rows.push({
      figure: `RSS with ${config.largeClients} idle clients`,
      service: s.idle.rssKbEnd / 1024,
      floor: f.idle.rssKbEnd / 1024,
      unit: 'MiB',
    })
    rows.push({
      figure: 'RSS per idle client',
      service: s.rssKbPerClient,
      floor: f.rssKbPerClient,
      unit: 'KiB',
      target: 'service ≤ 12 KB',
      pass: s.rssKbPerClient <= 12,
    })
  }
  if (r.scale?.service && r.scale.floor) {
    const s = r.scale.service
    const f = r.scale.floor
    rows.push({
      figure: `scale: ${config.scaleClients} streams, heartbeat ${config.scaleHeartbeatMs} ms: errors`,
      service: s.errors,
      floor: f.errors,
      unit: '',
      target: '0 errors',
      pass: s.errors === 0 && s.connected === config.scaleClients,
      digits: 0,
    })
    rows.push({
      figure: `scale: RSS with ${config.scaleClients} streams`,
      service: s.rssKbAfter / 1024,
      floor: f.rssKbAfter / 1024,
      unit: 'MiB',
    })
    rows.push({
      figure: 'scale: CPU while holding',
      service: s.cpuPercentOfCore,
      floor: f.cpuPercentOfCore,
      unit: '% of a core',
    })
  }
  return rows
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
