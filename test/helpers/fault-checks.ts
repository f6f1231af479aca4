/**
 * The checks every fault case makes, whatever the Redis deployment: answers within 2 s,
 * 503 while Redis cannot serve and 200 once it can, exactly one subscription afterwards,
 * each later message delivered once to every client, and clients connected throughout.
 */
import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { RedisServer } from './redis-server.js'
import { withClient } from './redis-topology.js'
import type { SseClient } from './sse-client.js'
import { updateEvent } from './sse-client.js'
import { waitFor } from './wait.js'

export interface Answer {
  path: string
  status: number
  ms: number
}

/** A GET over real HTTP; status 0 when there is no answer within 5 s (a hang). */
export async function timedGet(base: string, path: string): Promise<Answer & { body: string }> {
  const started = Date.now()
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) })
    const body = await res.text()
    return { path, status: res.status, ms: Date.now() - started, body }
  } catch {
    return { path, status: 0, ms: Date.now() - started, body: '' }
  }
}

/**
 * Asks each path again and again (one request at a time per path, `intervalMs` apart)
 * until stopped: what clients and probes see through a fault.
 */
export function startProbes(t: Test, base: string, paths: string[], intervalMs = 100) {
  const answers: Answer[] = []
  let running = true
  const loops = paths.map(async (path) => {
    while (running) {
      const { body: _body, ...answer } = await timedGet(base, path)
      answers.push(answer)
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })
  const stop = async (): Promise<Answer[]> => {
    running = false
    await Promise.all(loops)
    return answers
  }
  // Stopped even when the test fails half-way, or the file would never end.
  t.teardown(stop)
  return { answers, stop }
}

/** Every answer was 200 or 503, within 2 s: the process never hung and never failed otherwise. */
export function checkAnswers(t: Test, answers: Answer[], what: string): void {
  const wrong = answers.filter((a) => (a.status !== 200 && a.status !== 503) || a.ms > 2000)
  t.same(wrong, [], `${what}: all ${answers.length} answers were 200 or 503 within 2 s`)
}

/** Subscribers of `channel` summed over every server given (a Cluster's nodes count one each). */
export async function numsub(servers: RedisServer[], channel: string): Promise<number> {
  let total = 0
  for (const server of servers) {
    total += await withClient(server, async (c) =>
      Number(((await c.pubsub('NUMSUB', channel)) as [string, number])[1]),
    )
  }
  return total
}

/** The `data:` payloads of the update events in `text`, sorted. */
function payloads(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('event: update\n'))
    .map((frame) => frame.slice('event: update\ndata: '.length))
    .sort()
}

/**
 * Publishes `count` distinct messages, in turn through each publisher, and checks that each
 * client received each exactly once (sorted: through different Cluster nodes the order of
 * two messages is not defined), and nothing else.
 */
export async function publishAndCheck(
  t: Test,
  publishers: Redis[],
  channel: string,
  clients: SseClient[],
  tag: string,
  count = 6,
): Promise<void> {
  const before = clients.map((c) => c.events().length)
  const expected: string[] = []
  for (let i = 0; i < count; i++) {
    const message = `{"type":"Check","tag":"${tag}","n":${i}}`
    expected.push(message)
    await (publishers[i % publishers.length] as Redis).publish(channel, message)
  }
  expected.sort()
  for (const [i, client] of clients.entries()) {
    const fresh = () => client.events().slice(before[i])
    await waitFor(() => payloads(fresh()).length >= count, `${tag}: ${count} messages on client ${i}`)
    t.same(payloads(fresh()), expected, `${tag}: client ${i} got each message exactly once`)
    const bytes = expected.reduce((sum, m) => sum + updateEvent(m).length, 0)
    t.equal(fresh().length, bytes, `${tag}: client ${i} got these events and nothing else`)
  }
}

/** Clients still connected, and the hub still counts them. */
export function checkConnected(t: Test, clients: SseClient[], hubSize: number): void {
  t.same(
    clients.map((c) => c.ended),
    clients.map(() => false),
    'every SSE client stayed connected',
  )
  t.equal(hubSize, clients.length, 'the hub still has every client')
}
