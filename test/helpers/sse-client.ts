/** A real HTTP client on /events that keeps every byte it receives. */
import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http'
import { waitFor } from './wait.js'

export interface SseClient {
  status: number
  headers: IncomingHttpHeaders
  /** Everything received so far. */
  bytes(): Buffer
  /** The received bytes with heartbeat comments removed. */
  events(): string
  /** Resolves once the received bytes satisfy `test`. */
  waitFor(test: (received: string) => boolean, what: string, timeoutMs?: number): Promise<void>
  /** True once the server ended or dropped the response. */
  readonly ended: boolean
  close(): void
}

export function stripComments(text: string): string {
  return text.replace(/^:[^\n]*\n\n/gm, '')
}

export function openEvents(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/events`, { headers, agent: false })
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
        events: () => stripComments(bytes().toString('utf8')),
        waitFor: (test, what, timeoutMs = 5000) =>
          waitFor(() => test(bytes().toString('utf8')), what, { timeoutMs }),
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

/** The exact bytes of one `update` event carrying `data`. */
export function updateEvent(data: Buffer | string): string {
  return `event: update\ndata: ${data.toString()}\n\n`
}
