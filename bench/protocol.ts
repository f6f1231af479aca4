/** The messages between the bench's main process and its client workers (structured clone over IPC). */

export interface ConnectRequest {
  op: 'connect'
  port: number
  count: number
  /** Connections being opened at once, per worker: keeps the accept queue short. */
  concurrency: number
  timeoutMs: number
}

/** One event the clients may receive in a phase: its exact frame bytes and what it stands for. */
export interface ExpectedFrame {
  kind: number
  bytes: Uint8Array
}

export interface PhaseRequest {
  op: 'phase'
  frames: ExpectedFrame[]
  /** The kind the k-th update must be, cycling (empty: any order). */
  rotation: number[]
  /** How many receive times to keep per client (the k-th update's time, k < maxEvents). */
  maxEvents: number
}

export type WorkerRequest =
  | ConnectRequest
  | PhaseRequest
  | { op: 'stats'; heartbeatFloor?: number }
  | { op: 'latencies'; sendTimesUs: Float64Array }
  | { op: 'close' }

export interface ConnectResult {
  opened: number
  connected: number
  failed: number
  ms: number
}

export interface WorkerStats {
  /** Sockets this worker holds (open or not). */
  clients: number
  connected: number
  failed: number
  /** Responses the server ended, or sockets that closed, while the bench was not closing them. */
  dropped: number
  errors: number
  errorSamples: string[]
  /** Since the phase began. */
  updates: number
  heartbeats: number
  unknown: number
  outOfOrder: number
  /** Events compared byte for byte (one client per worker), and how many differed. */
  checked: number
  mismatches: number
  minUpdates: number
  maxUpdates: number
  minHeartbeats: number
  /** Streaming clients that heard fewer heartbeats than the floor asked for in the stats request. */
  belowHeartbeatFloor: number
  /** hrtime of the first and last update of the phase, in µs (0 when none). */
  firstUpdateUs: number
  lastUpdateUs: number
  openFileLimit: number
}

export interface WorkerReply {
  id: number
  ok: boolean
  error?: string
  result?: unknown
}
