/** A real Writable whose consumer the test controls: it takes writes until held, then buffers them. */
import { Writable } from 'node:stream'

export class HeldSink extends Writable {
  readonly chunks: Buffer[] = []
  #held = false
  #waiting: (() => void)[] = []

  constructor() {
    // One byte: any write made while held leaves it over its mark, so write() says false.
    super({ highWaterMark: 1 })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk)
    if (this.#held) this.#waiting.push(callback)
    else callback()
  }

  text(): string {
    return Buffer.concat(this.chunks).toString()
  }

  /** Stops taking writes: the next write() returns false. */
  hold(): void {
    this.#held = true
  }

  /** Takes every buffered write; the stream emits 'drain'. */
  release(): void {
    this.#held = false
    const waiting = this.#waiting
    this.#waiting = []
    for (const callback of waiting) callback()
  }
}
