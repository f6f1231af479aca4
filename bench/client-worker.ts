/**
 * A bench client process: holds many raw TCP SSE clients (`GET /events`), parses their byte
 * streams cheaply, counts events and keeps each update's receive time. Driven over IPC by
 * the main process (client-pool.ts). Several run side by side, since each process may open
 * only so many files.
 */
import { connect, type Socket } from 'node:net'
import { openFileLimit } from './proc.js'
import type {
  ConnectRequest,
  ConnectResult,
  PhaseRequest,
  WorkerReply,
  WorkerRequest,
  WorkerStats,
} from './protocol.js'
import { type EventSink, SseParser } from './sse-parser.js'
import { nowUs } from './stats.js'

const COLON = 0x3a
const REQUEST = 'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n'

interface Client {
  socket: Socket
  parser: SseParser
  /** 0 connecting, 1 streaming, 2 failed or gone. */
  state: number
  closing: boolean
}

const clients: Client[] = []
let updates = new Uint32Array(0)
let heartbeats = new Uint32Array(0)
let recvUs = new Float64Array(0)
let maxEvents = 0
let byLength = new Map<number, { kind: number; bytes: Buffer }>()
let rotation: number[] = []

let connected = 0
let failed = 0
let dropped = 0
let errors = 0
const errorSamples: string[] = []
let totalUpdates = 0
let totalHeartbeats = 0
let unknown = 0
let outOfOrder = 0
let checked = 0
let mismatches = 0
let firstUpdateUs = 0
let lastUpdateUs = 0
/** The receive time of the current socket read, taken once per read when an update completes. */
let stamp = 0
let onSettled: (() => void) | undefined

function sample(message: string): void {
  if (errorSamples.length < 5 && !errorSamples.includes(message)) errorSamples.push(message)
}

function settle(client: Client, ok: boolean): void {
  if (client.state !== 0) return
  client.state = ok ? 1 : 2
  if (ok) connected++
  else failed++
  onSettled?.()
}

const sink: EventSink = {
  head(index, status) {
    const client = clients[index] as Client
    if (status !== 200) sample(`HTTP ${status}`)
    settle(client, status === 200)
  },
  event(index, first, length, bytes) {
    if (first === COLON) {
      heartbeats[index] = (heartbeats[index] as number) + 1
      totalHeartbeats++
      return
    }
    const expected = byLength.get(length) ?? withIdLine(length)
    if (expected === undefined) {
      unknown++
      return
    }
    const k = updates[index] as number
    updates[index] = k + 1
    totalUpdates++
    if (rotation.length > 0 && rotation[k % rotation.length] !== expected.kind) outOfOrder++
    if (stamp === 0) stamp = nowUs()
    if (k < maxEvents) recvUs[index * maxEvents + k] = stamp
    if (firstUpdateUs === 0) firstUpdateUs = stamp
    lastUpdateUs = stamp
    if (bytes !== undefined) {
      checked++
      if (!withoutIdLine(bytes).equals(expected.bytes)) mismatches++
    }
  },
  ended(index, reason) {
    const client = clients[index] as Client
    if (client.closing) return
    if (client.state === 0) {
      sample(`before the head: ${reason}`)
      settle(client, false)
    } else if (client.state === 1) {
      client.state = 2
      dropped++
      sample(`stream ended: ${reason}`)
    }
  },
}

function open(port: number, timeoutMs: number): Client {
  const index = clients.length
  const socket = connect({ host: '127.0.0.1', port })
  // The first client of each worker compares every event byte for byte; the rest only count.
  const client: Client = { socket, parser: new SseParser(index, sink, index === 0), state: 0, closing: false }
  clients.push(client)
  const timer = setTimeout(() => {
    if (client.state === 0) {
      sample('no response head in time')
      settle(client, false)
      socket.destroy()
    }
  }, timeoutMs)
  socket.setNoDelay(true)
  socket.on('connect', () => socket.write(REQUEST))
  socket.on('data', (chunk: Buffer) => {
    stamp = 0
    client.parser.feed(chunk)
  })
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (client.closing) return
    errors++
    sample(err.code ?? err.message)
  })
  socket.on('close', () => {
    clearTimeout(timer)
    client.parser.closed()
  })
  return client
}

function grow(count: number): void {
  const u = new Uint32Array(count)
  u.set(updates)
  updates = u
  const h = new Uint32Array(count)
  h.set(heartbeats)
  heartbeats = h
}

async function openMany({ port, count, concurrency, timeoutMs }: ConnectRequest): Promise<ConnectResult> {
  const t0 = performance.now()
  const before = { connected, failed }
  const first = clients.length
  grow(first + count)
  let started = 0
  let settled = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (started < count && started - settled < concurrency) {
        started++
        open(port, timeoutMs)
      }
      if (settled === count) resolve()
    }
    onSettled = () => {
      settled++
      pump()
    }
    pump()
  })
  onSettled = undefined
  return {
    opened: clients.length - first,
    connected: connected - before.connected,
    failed: failed - before.failed,
    ms: performance.now() - t0,
  }
}

/**
 * The service adds `id: <epoch>-<seq>\n` after `event: update\n` (the floor does not): an
 * event up to this much longer than an expected frame is that frame with its id.
 */
const MAX_ID_LINE = 64
const ID_LINE_START = Buffer.from('\nid: ')

function withIdLine(length: number): { kind: number; bytes: Buffer } | undefined {
  for (const [expectedLength, frame] of byLength) {
    if (length > expectedLength && length - expectedLength <= MAX_ID_LINE) return frame
  }
  return undefined
}

function withoutIdLine(bytes: Buffer): Buffer {
  const start = bytes.indexOf(ID_LINE_START)
  if (start < 0) return bytes
  const end = bytes.indexOf(0x0a, start + 1)
  return Buffer.concat([bytes.subarray(0, start), bytes.subarray(end)])
}

function beginPhase(request: PhaseRequest): void {
  byLength = new Map()
  for (const frame of request.frames) {
    const bytes = Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength)
    byLength.set(bytes.length, { kind: frame.kind, bytes })
  }
  rotation = request.rotation
  maxEvents = request.maxEvents
  recvUs = new Float64Array(clients.length * maxEvents)
  updates.fill(0)
  heartbeats.fill(0)
  totalUpdates = 0
  totalHeartbeats = 0
  unknown = 0
  outOfOrder = 0
  checked = 0
  mismatches = 0
  firstUpdateUs = 0
  lastUpdateUs = 0
}

function stats(heartbeatFloor = 0): WorkerStats {
  let belowHeartbeatFloor = 0
  let minUpdates = Number.POSITIVE_INFINITY
  let maxUpdates = 0
  let minHeartbeats = Number.POSITIVE_INFINITY
  for (let i = 0; i < clients.length; i++) {
    if ((clients[i] as Client).state !== 1) continue
    const u = updates[i] as number
    const h = heartbeats[i] as number
    if (u < minUpdates) minUpdates = u
    if (u > maxUpdates) maxUpdates = u
    if (h < minHeartbeats) minHeartbeats = h
    if (h < heartbeatFloor) belowHeartbeatFloor++
  }
  return {
    clients: clients.length,
    connected,
    failed,
    dropped,
    errors,
    errorSamples,
    updates: totalUpdates,
    heartbeats: totalHeartbeats,
    unknown,
    outOfOrder,
    checked,
    mismatches,
    minUpdates: Number.isFinite(minUpdates) ? minUpdates : 0,
    maxUpdates,
    minHeartbeats: Number.isFinite(minHeartbeats) ? minHeartbeats : 0,
    belowHeartbeatFloor,
    firstUpdateUs,
    lastUpdateUs,
    openFileLimit: openFileLimit(),
  }
}

/** Latency in ms of every recorded update: its receive time minus the send time of the k-th. */
function latencies(sendTimesUs: Float64Array): Float64Array {
  const n = Math.min(sendTimesUs.length, maxEvents)
  const out = new Float64Array(clients.length * n)
  let count = 0
  for (let c = 0; c < clients.length; c++) {
    const base = c * maxEvents
    for (let k = 0; k < n; k++) {
      const recv = recvUs[base + k] as number
      if (recv !== 0) out[count++] = (recv - (sendTimesUs[k] as number)) / 1000
    }
  }
  return out.slice(0, count)
}

async function closeAll(): Promise<void> {
  const closing: Promise<void>[] = []
  for (const client of clients) {
    client.closing = true
    if (client.socket.destroyed) continue
    closing.push(new Promise((resolve) => client.socket.once('close', () => resolve())))
    client.socket.destroy()
  }
  await Promise.all(closing)
  clients.length = 0
  updates = new Uint32Array(0)
  heartbeats = new Uint32Array(0)
  recvUs = new Float64Array(0)
  connected = 0
  failed = 0
  dropped = 0
  errors = 0
  errorSamples.length = 0
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      return openMany(request)
    case 'phase':
      return beginPhase(request)
    case 'stats':
      return stats(request.heartbeatFloor)
    case 'latencies':
      return latencies(request.sendTimesUs)
    case 'close':
      return closeAll()
  }
}

process.on('message', (message: { id: number; request: WorkerRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies WorkerReply),
    (err: unknown) => process.send?.({ id: message.id, ok: false, error: String(err) } satisfies WorkerReply),
  )
})
process.on('disconnect', () => process.exit(0))
