/** GET /key/{key} and GET /key/Environment: current values from the store. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { Config } from '../config.js'
import { BodyCache, readStoredJson } from '../lib/stored-value.js'
import { AnyJson, errorResponses } from '../schemas.js'

export interface KeyRoutesOptions {
  config: Config
}

export const KeyParams = Type.Object({
  key: Type.String({
    minLength: 1,
    description: 'The Redis key, without the configured prefix; case-sensitive',
  }),
})

/** The members of the aggregate, in the order the original served them. */
export const ENVIRONMENT_KEYS = ['AQI', 'Moon', 'Weather'] as const

export const EnvironmentReply = Type.Object({ AQI: AnyJson, Moon: AnyJson, Weather: AnyJson })

// Serialised here, not by a response schema: a stored JSON string must go out as `"text"`,
// and Fastify would send a bare string as text/plain.
function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json)
}

const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (fastify, { config }) => {
  const prefix = config.keyPrefix
  const cache = new BodyCache()
  const read = (key: string) => readStoredJson(fastify.redis, prefix, key, cache)

  // A static path beats the parametric one, so this wins over a Redis key named Environment.
  fastify.get(
    '/key/Environment',
    { schema: { response: { 200: EnvironmentReply, ...errorResponses } } },
    async (_request, reply) => {
      const [aqi, moon, weather] = await Promise.all(ENVIRONMENT_KEYS.map(read))
      // Each member is already JSON text: joined, not parsed and serialised again.
      return sendJson(reply, `{"AQI":${aqi},"Moon":${moon},"Weather":${weather}}`)
    },
  )

  fastify.get(
    '/key/:key',
    { schema: { params: KeyParams, response: { 200: AnyJson, ...errorResponses } } },
    async (request, reply) => sendJson(reply, await read(request.params.key)),
  )
}

export default keyRoutes
