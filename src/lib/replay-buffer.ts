/** The recent events of this process, by sequence number, bounded by count and bytes. */
import type { StreamEvent } from './client-stream.js'

export interface LoggedEvent extends StreamEvent {
  readonly seq: number
  /** When it was emitted (ms since the epoch), for the command TTL. */
  readonly at: number
}

export class ReplayBuffer {
  #events: LoggedEvent[] = []
  #start = 0
  #bytes = 0
  readonly #maxEvents: number
  readonly #maxBytes: number

  constructor(maxEvents: number, maxBytes: number) {
    this.#maxEvents = maxEvents
    this.#maxBytes = maxBytes
  }

  get length(): number {
    return this.#events.length - this.#start
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Appends the next event (sequence numbers rise by one) and evicts the oldest past the bounds. */
  append(event: LoggedEvent): void {
    this.#events.push(event)
    this.#bytes += event.frame.length
    while (this.length > this.#maxEvents || (this.#bytes > this.#maxBytes && this.length > 0)) {
      const oldest = this.#events[this.#start++] as LoggedEvent
      this.#bytes -= oldest.frame.length
    }
    // Drop the evicted prefix now and then, not on every append.
    if (this.#start > 1024 && this.#start * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#start)
      this.#start = 0
    }
  }

  /**
   * Every held event after `seq`, when all of them are still held; undefined when some
   * were evicted. `head` is the last sequence number given out.
   */
  after(seq: number, head: number): LoggedEvent[] | undefined {
    if (seq === head) return []
    if (seq > head) return undefined
    const oldest = this.#events[this.#start]
    if (oldest === undefined || seq + 1 < oldest.seq) return undefined
    return this.#events.slice(this.#start + (seq + 1 - oldest.seq))
  }
}
