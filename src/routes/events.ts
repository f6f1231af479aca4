/** GET /events: every update and web-control command, as Server-Sent Events, to every client. */
import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

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

const eventsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/events',
    {
      // 'only': curl and EventSource send `Accept: */*` or nothing, and still get the stream.
      // The hub's shared timer sends heartbeats; the plugin's per-client one is off.
      sse: { kind: 'only', heartbeat: false },
      // A HEAD would hold a stream open with nothing to send.
      exposeHeadRoute: false,
      schema: {
        response: {
          200: Type.String({ description: 'text/event-stream: `event: update` + `data: <message>`' }),
        },
      },
    },
    async (request, reply) => {
      const res = reply.raw
      const stream = fastify.hub.subscribe((reason) => {
        if (reason === 'overflow') {
          request.log.warn({ bufferedBytes: res.writableLength }, 'client too slow; disconnected')
          // Not end(): its final chunk would wait behind the backlog. The client reconnects.
          res.destroy()
        } else if (reason === 'shutdown' && res.writableNeedDrain) {
          res.destroy()
        }
      })
      reply.sse.onClose(() => stream.end('client-closed'))
      // The socket may have closed before onClose was registered.
      if (!reply.sse.isConnected) stream.end('client-closed')

      // Set before the head is written: onSend hooks never run for a streamed response.
      reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-store, no-transform')
        .header('x-accel-buffering', 'no')
      reply.sse.sendHeaders()
      // Without this the client sees no response until the first event.
      res.flushHeaders()

      for await (const chunk of stream) {
        if (!res.write(chunk)) await drainOrClose(res)
      }
      // Returning ends the response (the plugin closes it), so the client reconnects.
    },
  )
}

export default eventsRoutes
