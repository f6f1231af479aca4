/** One SSE client's stream of framed events: written straight to its socket, queued (bounded, coalesced) while the socket is full. */

export type EndReason = 'client-closed' | 'overflow' | 'shutdown'

/** An event as the hub hands it to every client: framed once, shared, never mutated. */
export interface StreamEvent {
  /** The message `type` (`webcontrol` for commands); undefined for heartbeats, which no filter drops. */
  readonly type: string | undefined
  readonly frame: Buffer
  /** State updates replace an older pending one of the same type; commands keep their order. */
  readonly coalesce: boolean
  /**
   * `performance.now()` when the hub received it, while the time to its first write is
   * still to be measured; 0 (or absent) once measured and for heartbeats.
   */
  receivedAt?: number
}

/**
 * What the streams tell the metrics. The hub zeroes the three numbers before it hands one
 * event to every stream and reads them after, so a stream only adds 1 to a number when
 * something happens: the per-client cost of the metrics.
 */
export interface DeliveryTally {
  /** Streams whose writer was waiting and took the event at once. */
  direct: number
  /** Queued events replaced by the newer one of their type. */
  coalesced: number
  /** Streams that refused the event because it would overflow their queue (they end). */
  refused: number
  /** A queued event the writer takes while `receivedAt` is set: the first write of that event. */
  firstWrite(event: StreamEvent): void
  /** Events still queued when a stream ended: they are never written. */
  discarded(events: readonly StreamEvent[]): void
}

/** For streams nobody counts (tests of the stream alone). */
const NO_TALLY: DeliveryTally = {
  direct: 0,
  coalesced: 0,
  refused: 0,
  firstWrite: () => {},
  discarded: () => {},
}

interface Pending {
  event: StreamEvent
  live: boolean
}

/** Where a stream writes: the client's HTTP response, or any Writable. */
export interface FrameSink {
  /** False when the sink's buffer is past its mark: 'drain' follows once it empties. */
  write(chunk: Buffer): boolean
  /** Bytes written and not yet taken by the socket. */
  readonly writableLength: number
  on(event: 'drain', listener: () => void): unknown
  off(event: 'drain', listener: () => void): unknown
}

export interface ClientStreamOptions {
  maxBytes: number
  /** Only these types (heartbeats always pass); undefined for everything. */
  filter?: ReadonlySet<string> | undefined
  onEnd: (reason: EndReason) => void
  tally?: DeliveryTally
  /**
   * Bytes the socket may hold unsent before events queue (and coalesce): a short burst
   * goes out whole, only a client really behind gets the newest values instead.
   */
  writeBudget?: number
}

const HEARTBEAT_KEY = ':heartbeat'

/**
 * A client's stream: an explicit object with a bounded queue and an idempotent `end()`,
 * never an `async function*` (a generator awaiting its next event cannot be stopped from
 * outside, so a client that left would keep it alive).
 *
 * Until `attach()` every event queues (the route writes a replay or snapshot first). Once
 * attached, an event goes straight to the socket with one synchronous write while the
 * socket takes it: no promise, no timer, no closure per event per client. Once more than
 * `writeBudget` bytes wait unsent in the socket, queueing is on until 'drain'. While
 * queued, a newer state update of a type replaces the pending older one, so a slow
 * display catches up to the present instead of replaying the past; commands keep their
 * order; past `maxBytes` the client is ended with 'overflow' instead of growing the process.
 */
export class ClientStream {
  #queue: Pending[] = []
  #head = 0
  #byType = new Map<string, Pending>()
  #queuedBytes = 0
  /** Replaced entries still in the array; compacted away before they add up. */
  #dead = 0
  #sink: FrameSink | undefined
  /** The sink refused more until 'drain'. */
  #blocked = false
  #endReason: EndReason | undefined
  #resolveFinished!: (reason: EndReason) => void
  readonly #maxBytes: number
  readonly #filter: ReadonlySet<string> | undefined
  readonly #onEnd: (reason: EndReason) => void
  readonly #tally: DeliveryTally
  readonly #writeBudget: number
  readonly #onDrain = (): void => {
    this.#blocked = false
    this.#flush()
  }
  /** Resolves once, with the reason, when the stream ends. */
  readonly finished: Promise<EndReason>
  /** Events replaced by a newer one of their type before they were written. */
  coalesced = 0

  constructor({ maxBytes, filter, onEnd, tally = NO_TALLY, writeBudget = 0 }: ClientStreamOptions) {
    this.#maxBytes = maxBytes
    this.#writeBudget = writeBudget
    this.#filter = filter
    this.#onEnd = onEnd
    this.#tally = tally
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve
    })
  }

  get ended(): boolean {
    return this.#endReason !== undefined
  }

  get endReason(): EndReason | undefined {
    return this.#endReason
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Whether this client wants events of this type: the whole cost for an unrelated client. */
  accepts(type: string | undefined): boolean {
    return type === undefined || this.#filter === undefined || this.#filter.has(type)
  }

  /** Starts writing to `sink`: what is queued first, then each event as it comes. */
  attach(sink: FrameSink): void {
    if (this.#endReason !== undefined || this.#sink !== undefined) return
    this.#sink = sink
    sink.on('drain', this.#onDrain)
    this.#flush()
  }

  /**
   * Writes or queues an event the client's filter accepts. False when refused: filtered
   * out, ended, or over the byte cap (which ends the stream).
   */
  push(event: StreamEvent): boolean {
    if (this.#endReason !== undefined || !this.accepts(event.type)) return false
    const sink = this.#sink
    if (sink !== undefined && !this.#blocked && this.#queuedBytes === 0) {
      this.#tally.direct++
      this.#write(sink, event.frame)
      return true
    }
    const key = event.coalesce ? (event.type ?? HEARTBEAT_KEY) : undefined
    if (key !== undefined) {
      const older = this.#byType.get(key)
      if (older !== undefined) {
        older.live = false
        this.#queuedBytes -= older.event.frame.length
        this.coalesced++
        this.#tally.coalesced++
        if (++this.#dead > 64 && this.#dead * 2 > this.#queue.length - this.#head) this.#compact()
      }
    }
    if (this.#queuedBytes + event.frame.length > this.#maxBytes) {
      this.#tally.refused++
      this.end('overflow')
      return false
    }
    const pending = { event, live: true }
    this.#queue.push(pending)
    if (key !== undefined) this.#byType.set(key, pending)
    this.#queuedBytes += event.frame.length
    return true
  }

  /** Writes queued events until the queue is empty or the sink is full. */
  #flush(): void {
    const sink = this.#sink
    if (sink === undefined) return
    while (!this.#blocked && this.#head < this.#queue.length) {
      const pending = this.#queue[this.#head++] as Pending
      if (!pending.live) {
        this.#dead--
        continue
      }
      this.#queuedBytes -= pending.event.frame.length
      const { type, coalesce, receivedAt } = pending.event
      if (coalesce) this.#byType.delete(type ?? HEARTBEAT_KEY)
      // The event's first write, if no client wrote it at once: time it.
      if (receivedAt) this.#tally.firstWrite(pending.event)
      this.#write(sink, pending.event.frame)
    }
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
      this.#dead = 0
    }
  }

  #write(sink: FrameSink, frame: Buffer): void {
    if (!sink.write(frame) && sink.writableLength >= this.#writeBudget) this.#blocked = true
  }

  #compact(): void {
    this.#queue = this.#queue.slice(this.#head).filter((pending) => pending.live)
    this.#head = 0
    this.#dead = 0
  }

  /** Ends the stream once; later calls do nothing. Queued events are dropped. */
  end(reason: EndReason): void {
    if (this.#endReason !== undefined) return
    this.#endReason = reason
    if (this.#queuedBytes > 0) {
      const lost: StreamEvent[] = []
      for (let i = this.#head; i < this.#queue.length; i++) {
        const pending = this.#queue[i] as Pending
        if (pending.live && pending.event.type !== undefined) lost.push(pending.event)
      }
      this.#tally.discarded(lost)
    }
    this.#queue = []
    this.#head = 0
    this.#dead = 0
    this.#byType.clear()
    this.#queuedBytes = 0
    this.#sink?.off('drain', this.#onDrain)
    this.#sink = undefined
    this.#onEnd(reason)
    this.#resolveFinished(reason)
  }
}
