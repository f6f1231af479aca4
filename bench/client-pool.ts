/** The main process's handle on its client workers: spreads connections over them and adds up what they saw. */
import { type ChildProcess, fork } from 'node:child_process'
import { WORKER_ENTRY } from './paths.js'
import type { ConnectResult, ExpectedFrame, WorkerReply, WorkerRequest, WorkerStats } from './protocol.js'

export interface PoolStats extends Omit<WorkerStats, 'openFileLimit'> {
  workers: number
  /** The lowest open-file limit among the workers (each holds its share of the sockets). */
  openFileLimit: number
}

class Worker {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #next = 0

  constructor() {
    // 'advanced': typed arrays and Buffers cross the IPC channel as they are.
    this.#child = fork(WORKER_ENTRY, [], { serialization: 'advanced', stdio: 'inherit' })
    this.#child.on('message', (reply: WorkerReply) => {
      const pending = this.#pending.get(reply.id)
      if (pending === undefined) return
      this.#pending.delete(reply.id)
      if (reply.ok) pending.resolve(reply.result)
      else pending.reject(new Error(reply.error))
    })
    this.#child.on('exit', (code, signal) => {
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`client worker exited (${code ?? signal})`))
      }
      this.#pending.clear()
    })
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  call<T>(request: WorkerRequest): Promise<T> {
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.send({ id, request })
    })
  }

  stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve())
      this.#child.disconnect()
    })
  }
}

export class ClientPool {
  readonly #workers: Worker[]

  private constructor(workers: Worker[]) {
    this.#workers = workers
  }

  static start(workers: number): ClientPool {
    return new ClientPool(Array.from({ length: workers }, () => new Worker()))
  }

  get size(): number {
    return this.#workers.length
  }

  /** The load generator's processes: the workers and this (main) process. */
  get pids(): number[] {
    return [process.pid, ...this.#workers.map((w) => w.pid)]
  }

  /** Opens `total` SSE clients to the port, spread evenly over the workers. */
  async connect(port: number, total: number, concurrency = 64, timeoutMs = 60_000): Promise<ConnectResult> {
    const t0 = performance.now()
    const n = this.#workers.length
    const results = await Promise.all(
      this.#workers.map((worker, i) =>
        worker.call<ConnectResult>({
          op: 'connect',
          port,
          count: Math.floor(total / n) + (i < total % n ? 1 : 0),
          concurrency,
          timeoutMs,
        }),
      ),
    )
    return {
      opened: results.reduce((s, r) => s + r.opened, 0),
      connected: results.reduce((s, r) => s + r.connected, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      ms: performance.now() - t0,
    }
  }

  /** Resets the counters and says what the clients should receive next. */
  async phase(frames: ExpectedFrame[], rotation: number[], maxEvents: number): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.call({ op: 'phase', frames, rotation, maxEvents })))
  }

  async stats(heartbeatFloor = 0): Promise<PoolStats> {
    const all = await Promise.all(
      this.#workers.map((w) => w.call<WorkerStats>({ op: 'stats', heartbeatFloor })),
    )
    const sum = (f: (s: WorkerStats) => number) => all.reduce((acc, s) => acc + f(s), 0)
    const live = all.filter((s) => s.connected - s.dropped > 0)
    const firsts = all.map((s) => s.firstUpdateUs).filter((t) => t > 0)
    return {
      workers: all.length,
      clients: sum((s) => s.clients),
      connected: sum((s) => s.connected),
      failed: sum((s) => s.failed),
      dropped: sum((s) => s.dropped),
      errors: sum((s) => s.errors),
      errorSamples: [...new Set(all.flatMap((s) => s.errorSamples))].slice(0, 8),
      updates: sum((s) => s.updates),
      heartbeats: sum((s) => s.heartbeats),
      unknown: sum((s) => s.unknown),
      outOfOrder: sum((s) => s.outOfOrder),
      checked: sum((s) => s.checked),
      mismatches: sum((s) => s.mismatches),
      minUpdates: live.length === 0 ? 0 : Math.min(...live.map((s) => s.minUpdates)),
      maxUpdates: Math.max(0, ...all.map((s) => s.maxUpdates)),
      minHeartbeats: live.length === 0 ? 0 : Math.min(...live.map((s) => s.minHeartbeats)),
      belowHeartbeatFloor: sum((s) => s.belowHeartbeatFloor),
      firstUpdateUs: firsts.length === 0 ? 0 : Math.min(...firsts),
      lastUpdateUs: Math.max(0, ...all.map((s) => s.lastUpdateUs)),
      openFileLimit: Math.min(...all.map((s) => s.openFileLimit)),
    }
  }

  /** Every recorded update's latency in ms (receive time minus the k-th send time), all workers. */
  async latencies(sendTimesUs: number[]): Promise<Float64Array> {
    const send = Float64Array.from(sendTimesUs)
    const parts = await Promise.all(
      this.#workers.map((w) => w.call<Float64Array>({ op: 'latencies', sendTimesUs: send })),
    )
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0))
    let at = 0
    for (const part of parts) {
      out.set(part, at)
      at += part.length
    }
    return out
  }

  /** Closes every client socket (the pool stays up for the next target). */
  async closeAll(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.call({ op: 'close' })))
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop()))
  }
}
