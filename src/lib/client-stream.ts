/** One SSE client's queue of framed events: an async iterator with a filter, a byte cap and an idempotent end(). */

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

export interface ClientStreamOptions {
  maxBytes: number
  /** Only these types (heartbeats always pass); undefined for everything. */
  filter?: ReadonlySet<string> | undefined
  onEnd: (reason: EndReason) => void
  tally?: DeliveryTally
}

const HEARTBEAT_KEY = ':heartbeat'

/**
 * Why a class and not an `async function*`: a generator awaiting its next event cannot be
 * stopped from outside, so a client that left would keep it (and its listener) alive.
 * Here `end()` resolves a pending `next()` at once, and the owner drops every reference.
 *
 * Events queue only while the writer is waiting for the socket to drain. Meanwhile a
 * newer state update of a type replaces the pending older one, so a slow display catches
 * up to the present instead of replaying the past; commands keep their order.
 */
export class ClientStream implements AsyncIterableIterator<Buffer> {
  #queue: Pending[] = []
  #head = 0
  #byType = new Map<string, Pending>()
  #queuedBytes = 0
  /** Replaced entries still in the array; compacted away before they add up. */
  #dead = 0
  #waiting: ((result: IteratorResult<Buffer>) => void) | undefined
  #endReason: EndReason | undefined
  readonly #maxBytes: number
  readonly #filter: ReadonlySet<string> | undefined
  readonly #onEnd: (reason: EndReason) => void
  readonly #tally: DeliveryTally
  /** Events replaced by a newer one of their type before they were written. */
  coalesced = 0

  constructor({ maxBytes, filter, onEnd, tally = NO_TALLY }: ClientStreamOptions) {
    this.#maxBytes = maxBytes
    this.#filter = filter
    this.#onEnd = onEnd
    this.#tally = tally
  }

  get ended(): boolean {
    return this.#endReason !== undefined
  }

  get endReason(): EndReason | undefined {
    return this.#endReason
  }

  /** Bytes queued and not yet taken by the writer. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Whether this client wants events of this type: the whole cost for an unrelated client. */
  accepts(type: string | undefined): boolean {
    return type === undefined || this.#filter === undefined || this.#filter.has(type)
  }

  /**
   * Queues an event the client's filter accepts. A client whose queue would pass the cap
   * is ended with 'overflow' instead of growing the process. False when not queued.
   */
  push(event: StreamEvent): boolean {
    if (this.#endReason !== undefined || !this.accepts(event.type)) return false
    const waiting = this.#waiting
    if (waiting !== undefined) {
      this.#waiting = undefined
      this.#tally.direct++
      waiting({ value: event.frame, done: false })
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
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.({ value: undefined, done: true })
    this.#onEnd(reason)
  }

  next(): Promise<IteratorResult<Buffer>> {
    while (this.#head < this.#queue.length) {
      const pending = this.#queue[this.#head++] as Pending
      if (!pending.live) {
        this.#dead--
        continue
      }
      this.#queuedBytes -= pending.event.frame.length
      // The writer writes it as soon as this resolves: time the event's first write.
      if (pending.event.receivedAt) this.#tally.firstWrite(pending.event)
      const { type, coalesce } = pending.event
      if (coalesce) this.#byType.delete(type ?? HEARTBEAT_KEY)
      if (this.#head === this.#queue.length) {
        this.#queue = []
        this.#head = 0
        this.#dead = 0
      }
      return Promise.resolve({ value: pending.event.frame, done: false })
    }
    if (this.#endReason !== undefined) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.#waiting = resolve
    })
  }

  /** Called by `for await` when the loop exits early (break, throw). */
  return(): Promise<IteratorResult<Buffer>> {
    this.end('client-closed')
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
