/** Starting and stopping what the bench measures: its own redis-server, the service and the floor. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'
import { FLOOR_ENTRY, SERVICE_ENTRY } from './paths.js'

export { freePort }

/** Every child still running: killed if the bench itself exits early (an error, Ctrl-C). */
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** A redis-server of the bench's own, on a free loopback port (never 6379), nothing persisted. */
/** True when a Redis on this loopback port answers PING (one try, no retry). */
export async function redisAnswers(port: number): Promise<boolean> {
  const probe = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

export class BenchRedis {
  readonly port: number
  readonly #child: ChildProcess

  private constructor(port: number, child: ChildProcess) {
    this.port = port
    this.#child = child
  }

  static async start(): Promise<BenchRedis> {
    let port = await freePort()
    if (port === 6379) port = await freePort()
    const child = track(
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      ),
    )
    child.on('error', () => {})
    const redis = new BenchRedis(port, child)
    const deadline = Date.now() + 10_000
    while (!(await redis.answers())) {
      if (Date.now() > deadline) {
        await redis.stop()
        throw new Error(`redis-server did not answer on port ${port}`)
      }
      await sleep(20)
    }
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  /** A plain command connection for the bench's own SET and PUBLISH. */
  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    return client
  }

  answers(): Promise<boolean> {
    return redisAnswers(this.port)
  }

  stop(): Promise<void> {
    return stopChild(this.#child, 'SIGKILL', 1000)
  }
}

export type TargetKind = 'service' | 'floor'

export interface TargetOptions {
  redisUrl: string
  heartbeatMs?: number
  env?: Record<string, string>
  /** Extra node flags, e.g. --cpu-prof to see where a target spends its time. */
  nodeArgs?: string[]
  /** Another entry point for this kind (default: the built service, or the floor). */
  entry?: string
  /** A folder to keep the target's stdout and stderr in (`<kind>-<pid>.log`), e.g. for --trace-gc. */
  logDir?: string
}

/** GET a path on loopback; resolves with the status (0 when the connection fails). */
export function httpStatus(port: number, path: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
    req.end()
  })
}

/** A running service or floor process: its pid for /proc, its port, and how long /ready took. */
export class Target {
  readonly kind: TargetKind
  readonly port: number
  readonly #child: ChildProcess
  #readyMs = 0
  #stderr = ''

  private constructor(kind: TargetKind, port: number, child: ChildProcess) {
    this.kind = kind
    this.port = port
    this.#child = child
  }

  /**
   * Spawns the built entry point with a fresh port and waits for GET /ready to answer 200.
   * `readyMs` is the time from spawn() to that 200 (Redis is already up).
   */
  static async start(kind: TargetKind, options: TargetOptions): Promise<Target> {
    const port = await freePort()
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: options.redisUrl,
      LOG_LEVEL: 'warn',
      // Large enough that no bench client is ever dropped as too slow: the bench counts losses.
      CLIENT_MAX_BUFFER_BYTES: String(256 * 1024 * 1024),
      HEARTBEAT_INTERVAL_MS: String(options.heartbeatMs ?? 15_000),
      ...options.env,
    }
    const entry = options.entry ?? (kind === 'service' ? SERVICE_ENTRY : FLOOR_ENTRY)
    const t0 = performance.now()
    // stdout is a pipe, not a TTY: the service logs JSON lines without a pino-pretty worker.
    const args = [...(options.nodeArgs ?? []), entry]
    const child = track(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }))
    const target = new Target(kind, port, child)
    if (options.logDir !== undefined) {
      const log = createWriteStream(join(options.logDir, `${kind}-${child.pid}.log`))
      child.stdout?.pipe(log)
      child.stderr?.pipe(log)
    }
    child.stdout?.on('data', () => {})
    child.stderr?.on('data', (chunk: Buffer) => {
      target.#stderr = (target.#stderr + chunk.toString()).slice(-4000)
    })
    const deadline = t0 + 15_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${kind} exited at start-up: ${target.#stderr}`)
      if ((await httpStatus(port, '/ready', 500)) === 200) break
      if (performance.now() > deadline) {
        await target.stop()
        throw new Error(`${kind} not ready after 15 s: ${target.#stderr}`)
      }
      await sleep(5)
    }
    target.#readyMs = performance.now() - t0
    return target
  }

  /** Milliseconds from spawn() to the first 200 from GET /ready. */
  get readyMs(): number {
    return this.#readyMs
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  get stderr(): string {
    return this.#stderr
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Throws a clear error when the target is gone (rather than a missing /proc file later). */
  check(): void {
    if (this.running) return
    const how = this.#child.signalCode ?? `code ${this.#child.exitCode}`
    throw new Error(
      `the ${this.kind} (pid ${this.pid}) exited (${how}) during the bench: ${this.#stderr.slice(-800)}`,
    )
  }

  /** SIGTERM (the service closes its streams gracefully), SIGKILL after 10 s. */
  stop(): Promise<void> {
    return stopChild(this.#child, 'SIGTERM', 10_000)
  }
}
