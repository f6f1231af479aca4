/** GET /events: every update and web-control command, as Server-Sent Events, to every client. */
import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorReply } from '../schemas.js'

export const EventsQuery = Type.Object({
  types: Type.Optional(
    Type.String({
      description: 'Comma-separated types to receive (`webcontrol` for commands); all when absent',
    }),
  ),
  snapshot: Type.Optional(
    Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')], {
      description: 'On a first connection, start with the stored value of every known type',
    }),
  ),
  lastEventId: Type.Optional(
    Type.String({ description: 'For clients that cannot send the Last-Event-ID header' }),
  ),
})

/** Seconds a client turned away by the stream limit should wait. */
const RETRY_AFTER_S = 5

/** Resolves when the socket can take more, or is gone: never waits on a dead client. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** Writes frames in order, waiting for the socket when it is full. */
async function writeAll(res: ServerResponse, frames: Iterable<Buffer>): Promise<void> {
  for (const frame of frames) {
    if (res.destroyed) return
    if (!res.write(frame)) await drainOrClose(res)
  }
}

function parseTypes(types: string | undefined): Set<string> | undefined {
  const list = (types ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  return list.length === 0 ? undefined : new Set(list)
}

const eventsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { hub, config, metrics } = fastify

  fastify.get(
    '/events',
    {
      // 'only': curl and EventSource send `Accept: */*` or nothing, and still get the stream.
      // The hub's shared timer sends heartbeats; the plugin's per-client one is off.
      sse: { kind: 'only', heartbeat: false },
      // A HEAD would hold a stream open with nothing to send.
      exposeHeadRoute: false,
      schema: {
        querystring: EventsQuery,
        response: {
          200: Type.String({
            description: 'text/event-stream: `event: update`, `id: <epoch>-<seq>`, `data: <message>`',
          }),
          400: ErrorReply,
          503: ErrorReply,
        },
      },
    },
    async (request, reply) => {
      if (hub.size >= config.maxStreams) {
        request.log.warn({ streams: hub.size }, 'stream limit reached')
        return reply
          .code(503)
          .header('retry-after', String(RETRY_AFTER_S))
          .send({ error: 'Too many streams' })
      }
      const res = reply.raw
      const filter = parseTypes(request.query.types)
      const stream = hub.subscribe({
        filter,
        onEnd: (reason) => {
          if (reason === 'overflow') {
            metrics.slowClientDisconnected()
            request.log.warn({ bufferedBytes: res.writableLength }, 'client too slow; disconnected')
            // Not end(): its final chunk would wait behind the backlog. The client reconnects.
            res.destroy()
          } else if (reason === 'shutdown' && res.writableNeedDrain) {
            res.destroy()
          }
        },
      })
      reply.sse.onClose(() => stream.end('client-closed'))
      // The socket may have closed before onClose was registered.
      if (!reply.sse.isConnected) stream.end('client-closed')

      // Decided in the same tick as subscribe(): every event is either in the backlog or
      // queued in the stream, never both, never neither.
      const header = request.headers['last-event-id']
      const lastEventId = (Array.isArray(header) ? header[0] : header) ?? request.query.lastEventId
      const backlog = lastEventId === undefined ? undefined : hub.replay(lastEventId, filter)
      const wantsSnapshot =
        backlog === undefined &&
        (lastEventId !== undefined || ['1', 'true'].includes(request.query.snapshot ?? ''))
      const snapshotId = hub.lastId

      // Set before the head is written: onSend hooks never run for a streamed response.
      reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-store, no-transform')
        .header('x-accel-buffering', 'no')
      reply.sse.sendHeaders()
      // Without this the client sees no response until the first event.
      res.flushHeaders()

      if (backlog !== undefined) {
        metrics.replayServed(backlog.length)
        await writeAll(res, backlog)
      }
      // Every snapshot event carries the id of the last event before it: a client that
      // reconnects after the snapshot resumes right after it.
      if (wantsSnapshot) {
        const snapshot = await hub.snapshot(snapshotId, filter)
        metrics.snapshotServed(snapshot.length)
        await writeAll(res, snapshot)
      }

      // From here on the hub's broadcast writes to this socket itself; live events that came
      // during the replay or snapshot were queued and go first.
      stream.attach(res)
      await stream.finished
      // Returning ends the response (the plugin closes it), so the client reconnects.
    },
  )
}

export default eventsRoutes
