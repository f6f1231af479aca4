/** Kubernetes probes: /live (the process serves HTTP) and /ready (it can do its job). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { commandConnectionProblem } from '../lib/redis-health.js'
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
      // A frozen Redis keeps its socket "ready": it is asked (bounded by the command timeout).
      const problem = await commandConnectionProblem(fastify.redis)
      if (problem !== undefined) reasons.push(problem)
      if (reasons.length === 0) return { status: 'ready' }
      request.log.debug({ reasons }, 'not ready')
      return reply.code(503).send({ status: 'unavailable' })
    },
  )
}

export default healthRoutes
