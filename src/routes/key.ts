/** GET /key/{key} and GET /key/Environment: current values from the store. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Cluster } from 'ioredis'
import type { Config } from '../config.js'
import { BodyCache, EMPTY_BODY, readStoredJson, readStoredJsonMany } from '../lib/stored-value.js'
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

export const EnvironmentReply = Type.Object({ AQI: AnyJson, Moon: AnyJson, Weather: AnyJson })

// Serialised here, not by a response schema: a stored JSON string must go out as `"text"`,
// and Fastify would send a bare string as text/plain.
function sendJson(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json)
}

/** The members of the aggregate, in the order the original served them. */
const ENVIRONMENT = ['AQI', 'Moon', 'Weather']
const AQI_HEAD = Buffer.from('{"AQI":')
const MOON_HEAD = Buffer.from(',"Moon":')
const WEATHER_HEAD = Buffer.from(',"Weather":')
const TAIL = Buffer.from('}')

const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (fastify, { config }) => {
  const prefix = config.keyPrefix
  const cache = new BodyCache()
  const read = (key: string) => readStoredJson(fastify.redis, prefix, key, cache)
  // One MGET for the aggregate, except in Redis Cluster (the keys live in different slots)
  // and once the ACL has refused it: then one GET per member, as before +mget was needed.
  const standalone = fastify.redis instanceof Cluster ? null : fastify.redis
  let mgetAllowed = standalone !== null
  const readEnvironment = async (): Promise<Buffer[]> => {
    if (standalone !== null && mgetAllowed) {
      const bodies = await readStoredJsonMany(standalone, prefix, ENVIRONMENT, cache)
      if (bodies !== null) return bodies
      mgetAllowed = false
      fastify.log.warn(
        'the Redis ACL refuses MGET: /key/Environment reads its members one GET each (add +mget)',
      )
    }
    return Promise.all(ENVIRONMENT.map(read))
  }

  // A static path beats the parametric one, so this wins over a Redis key named Environment.
  fastify.get(
    '/key/Environment',
    { schema: { response: { 200: EnvironmentReply, ...errorResponses } } },
    async (_request, reply) => {
      // (The defaults are for the type checker: three keys always give three bodies.)
      const [aqi = EMPTY_BODY, moon = EMPTY_BODY, weather = EMPTY_BODY] = await readEnvironment()
      // Each member is already JSON: joined as bytes, not parsed and serialised again.
      return sendJson(reply, Buffer.concat([AQI_HEAD, aqi, MOON_HEAD, moon, WEATHER_HEAD, weather, TAIL]))
    },
  )

  fastify.get(
    '/key/:key',
    { schema: { params: KeyParams, response: { 200: AnyJson, ...errorResponses } } },
    async (request, reply) => sendJson(reply, await read(request.params.key)),
  )
}

export default keyRoutes
