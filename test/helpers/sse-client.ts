/** A real HTTP client on /events that keeps every byte it receives. */
import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http'
import { waitFor } from './wait.js'

export interface SseClient {
  status: number
  headers: IncomingHttpHeaders
  /** Everything received so far. */
  bytes(): Buffer
  /** The received text without heartbeat comments and `id:` lines: what old clients look at. */
  events(): string
  /** The received text without heartbeat comments, ids included. */
  withIds(): string
  /** Resolves once `events()` (the text without comments and ids) satisfies `test`. */
  waitFor(test: (received: string) => boolean, what: string, timeoutMs?: number): Promise<void>
  /** True once the server ended or dropped the response. */
  readonly ended: boolean
  close(): void
}

export function stripComments(text: string): string {
  return text.replace(/^:[^\n]*\n\n/gm, '')
}

export function stripIds(text: string): string {
  return text.replace(/^id: [^\n]*\n/gm, '')
}

/** Opens `path` (`/events` with a query string, say) on the server at `url`. */
export function openEvents(
  url: string,
  headers: Record<string, string> = {},
  path = '/events',
): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers, agent: false })
    req.on('error', reject)
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let ended = false
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      const markEnded = () => {
        ended = true
      }
      res.on('end', markEnded)
      res.on('close', markEnded)
      res.on('error', markEnded)
      const bytes = () => Buffer.concat(chunks)
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        bytes,
        events: () => stripIds(stripComments(bytes().toString('utf8'))),
        withIds: () => stripComments(bytes().toString('utf8')),
        waitFor: (test, what, timeoutMs = 5000) =>
          waitFor(() => test(stripIds(stripComments(bytes().toString('utf8')))), what, { timeoutMs }),
        get ended() {
          return ended
        },
        close: () => {
          req.destroy()
        },
      })
    })
    req.end()
  })
}

/** The exact text of one `update` event carrying `data` (with its `id:` line when given). */
export function updateEvent(data: Buffer | string, id?: string): string {
  return id === undefined
    ? `event: update\ndata: ${data.toString()}\n\n`
    : `event: update\nid: ${id}\ndata: ${data.toString()}\n\n`
}
