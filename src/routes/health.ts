/** Kubernetes probes: /live (the process serves HTTP) and /ready (it can do its job). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { StatusReply } from '../schemas.js'

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/live', { schema: { response: { 200: StatusReply } } }, async () => ({ status: 'alive' }))

  fastify.get(
    '/ready',
    { schema: { response: { 200: StatusReply, 503: StatusReply } } },
    async (request, reply) => {
      const reasons: string[] = []
      if (fastify.hub.closing) reasons.push('shutting down')
      if (!fastify.hub.subscriberReady) reasons.push('not subscribed')
      if (fastify.redis.status !== 'ready') {
        reasons.push('command connection down')
      } else {
        // A frozen Redis keeps its socket "ready": ask it (bounded by the command timeout).
        try {
          await fastify.redis.ping()
        } catch {
          reasons.push('Redis not answering')
        }
      }
      if (reasons.length === 0) return { status: 'ready' }
      request.log.debug({ reasons }, 'not ready')
      return reply.code(503).send({ status: 'unavailable' })
    },
  )
}

export default healthRoutes
