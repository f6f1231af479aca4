/**
 * A cheap parser for one SSE response read from a raw TCP socket: the HTTP head, then the
 * body (chunked or not), cut into events at each blank line. It does not decode fields: it
 * reports each event's first byte (`:` for a comment) and total length, which is enough
 * to tell a heartbeat from each bench message, and keeps the load generator light.
 */

const LF = 0x0a
const CR = 0x0d

export interface EventSink {
  /** The response head was read: its status, and whether the body is chunked. */
  head(client: number, status: number): void
  /**
   * One complete event: the byte it starts with, its length including the blank line, and
   * (only for a parser made with `capture`) its bytes, to compare with what was published.
   */
  event(client: number, first: number, length: number, bytes: Buffer | undefined): void
  /** The server ended the response (last chunk), or sent something that is not HTTP. */
  ended(client: number, reason: string): void
}

const HEAD = 0
const SIZE = 1
const DATA = 2
const DATA_END = 3
const RAW = 4
const DONE = 5

export class SseParser {
  readonly client: number
  readonly #sink: EventSink
  readonly #capture: boolean
  #state = HEAD
  #head = ''
  #chunkLeft = 0
  #sizeDigits = 0
  #crlfLeft = 0
  /** Bytes of the event being read so far, its first byte, and whether its last byte was LF. */
  #eventLength = 0
  #first = 0
  #lastWasLf = false
  #captured: Buffer[] = []

  constructor(client: number, sink: EventSink, capture = false) {
    this.client = client
    this.#sink = sink
    this.#capture = capture
  }

  get done(): boolean {
    return this.#state === DONE
  }

  feed(buf: Buffer): void {
    let pos = 0
    const end = buf.length
    while (pos < end) {
      switch (this.#state) {
        case HEAD: {
          // The head is small and arrives once: a string is simplest here.
          const before = this.#head.length
          this.#head += buf.toString('latin1', pos, end)
          const at = this.#head.indexOf('\r\n\r\n')
          if (at < 0) return
          pos += at + 4 - before
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(this.#head)
          const status = m === null ? 0 : Number(m[1])
          const chunked = /\r\ntransfer-encoding:[ \t]*chunked/i.test(this.#head)
          this.#head = ''
          this.#sink.head(this.client, status)
          this.#state = chunked ? SIZE : RAW
          break
        }
        case SIZE: {
          const byte = buf[pos++] as number
          if (byte === LF) {
            if (this.#sizeDigits === 0 || this.#chunkLeft === 0) {
              this.#finish(this.#sizeDigits === 0 ? 'bad chunk size' : 'last chunk')
              return
            }
            this.#state = DATA
            this.#sizeDigits = 0
          } else if (byte !== CR) {
            const digit = hexValue(byte)
            if (digit < 0) {
              this.#finish('bad chunk size')
              return
            }
            this.#chunkLeft = this.#chunkLeft * 16 + digit
            this.#sizeDigits++
          }
          break
        }
        case DATA: {
          const n = Math.min(this.#chunkLeft, end - pos)
          this.#body(buf, pos, pos + n)
          pos += n
          this.#chunkLeft -= n
          if (this.#chunkLeft === 0) {
            this.#state = DATA_END
            this.#crlfLeft = 2
          }
          break
        }
        case DATA_END: {
          pos++
          if (--this.#crlfLeft === 0) this.#state = SIZE
          break
        }
        case RAW: {
          this.#body(buf, pos, end)
          pos = end
          break
        }
        default:
          return
      }
    }
  }

  /** Called by the owner when the socket closed. */
  closed(): void {
    if (this.#state !== DONE) this.#finish('socket closed')
  }

  #finish(reason: string): void {
    this.#state = DONE
    this.#sink.ended(this.client, reason)
  }

  /** Event bytes buf[from, to): finds blank lines with indexOf (native), not byte by byte. */
  #body(buf: Buffer, from: number, to: number): void {
    let pos = from
    while (pos < to) {
      if (this.#eventLength === 0) this.#first = buf[pos] as number
      // The search may run past `to`, but a chunk's data is followed by CRLF, so it stops at once.
      const lf = buf.indexOf(LF, pos)
      if (lf < 0 || lf >= to) {
        this.#take(buf, pos, to)
        this.#lastWasLf = false
        return
      }
      this.#take(buf, pos, lf + 1)
      // An LF right after an LF (the previous byte may be in an earlier read) ends the event.
      const ends = lf === pos ? this.#lastWasLf : false
      pos = lf + 1
      if (ends) {
        const bytes = this.#capture ? Buffer.concat(this.#captured) : undefined
        this.#captured = []
        const length = this.#eventLength
        this.#eventLength = 0
        this.#lastWasLf = false
        this.#sink.event(this.client, this.#first, length, bytes)
      } else {
        this.#lastWasLf = true
      }
    }
  }

  #take(buf: Buffer, from: number, to: number): void {
    this.#eventLength += to - from
    // A copy: the socket may reuse its read buffer.
    if (this.#capture) this.#captured.push(Buffer.from(buf.subarray(from, to)))
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37
  // Chunk extensions (`;name=value`) are never sent by Node; treat them as an error.
  return -1
}
