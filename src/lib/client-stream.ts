/** One SSE client's queue of framed events: an async iterator with a byte cap and an idempotent end(). */

export type EndReason = 'client-closed' | 'overflow' | 'shutdown'

/**
 * Why a class and not an `async function*`: a generator awaiting its next event cannot be
 * stopped from outside, so a client that left would keep it (and its listener) alive.
 * Here `end()` resolves a pending `next()` at once, and the owner drops every reference.
 */
export class ClientStream implements AsyncIterableIterator<Buffer> {
  #queue: Buffer[] = []
  #queuedBytes = 0
  #waiting: ((result: IteratorResult<Buffer>) => void) | undefined
  #endReason: EndReason | undefined
  readonly #maxBytes: number
  readonly #onEnd: (reason: EndReason) => void

  constructor(maxBytes: number, onEnd: (reason: EndReason) => void) {
    this.#maxBytes = maxBytes
    this.#onEnd = onEnd
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

  /**
   * Queues a chunk (shared between clients: never mutated). A client whose queue would
   * pass the cap is ended with 'overflow' instead of growing the process.
   */
  push(chunk: Buffer): boolean {
    if (this.#endReason !== undefined) return false
    const waiting = this.#waiting
    if (waiting !== undefined) {
      this.#waiting = undefined
      waiting({ value: chunk, done: false })
      return true
    }
    if (this.#queuedBytes + chunk.length > this.#maxBytes) {
      this.end('overflow')
      return false
    }
    this.#queue.push(chunk)
    this.#queuedBytes += chunk.length
    return true
  }

  /** Ends the stream once; later calls do nothing. Queued chunks are dropped. */
  end(reason: EndReason): void {
    if (this.#endReason !== undefined) return
    this.#endReason = reason
    this.#queue = []
    this.#queuedBytes = 0
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.({ value: undefined, done: true })
    this.#onEnd(reason)
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.#queue.shift()
    if (chunk !== undefined) {
      this.#queuedBytes -= chunk.length
      return Promise.resolve({ value: chunk, done: false })
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
