/** GET /metrics: every metric of this process in the Prometheus text format, for the ServiceMonitor. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/cors reads it: false leaves a route without CORS headers. */
    cors?: false
  }
}

const metricsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/metrics',
    {
      // Prometheus is no browser: no CORS headers, whatever the Origin.
      config: { cors: false },
      schema: {
        response: {
          200: Type.String({
            description: 'Prometheus text format 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`)',
          }),
        },
      },
    },
    async (_request, reply) => {
      const text = await fastify.metrics.text()
      return reply.type(fastify.metrics.contentType).send(text)
    },
  )
}

export default metricsRoutes
