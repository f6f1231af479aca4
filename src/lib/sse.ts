/** SSE wire format: framing a published message once, and the shared heartbeat comment. */

const EVENT_UPDATE_ID = Buffer.from('event: update\nid: ')
const DATA = Buffer.from('\ndata: ')
const NEXT_DATA = Buffer.from('data: ')
const NEWLINE = Buffer.from('\n')
const END_OF_EVENT = Buffer.from('\n\n')

/** A comment line: every SSE client ignores it, proxies see traffic, dead sockets surface. */
export const HEARTBEAT = Buffer.from(': keep-alive\n\n')

const LF = 0x0a
const CR = 0x0d

/**
 * Frames a message as one `update` event with its id (clients that know nothing of ids
 * ignore the line). The data bytes are the published bytes, never
 * re-serialised (that would turn `78.0` into `78`). Any line break (LF, CR or CRLF, all
 * of which end an SSE line) starts another `data: ` line, so every line a client reads is
 * prefixed and the browser rejoins them with `\n`.
 */
export function frameUpdate(id: string, payload: Buffer): Buffer {
  if (!payload.includes(LF) && !payload.includes(CR)) {
    return Buffer.concat([EVENT_UPDATE_ID, Buffer.from(id), DATA, payload, END_OF_EVENT])
  }
  const parts: Buffer[] = [EVENT_UPDATE_ID, Buffer.from(id), DATA]
  let start = 0
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i]
    if (byte !== LF && byte !== CR) continue
    parts.push(payload.subarray(start, i), NEWLINE, NEXT_DATA)
    if (byte === CR && payload[i + 1] === LF) i++
    start = i + 1
  }
  parts.push(payload.subarray(start), END_OF_EVENT)
  return Buffer.concat(parts)
}
