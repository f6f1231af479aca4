/** PUT /webcontrol/{command}: relays a remote-control button press to every display. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import { errorResponses } from '../schemas.js'

export const CommandReply = Type.Object(
  {
    status: Type.Literal('Command queued'),
    delivery: Type.Optional(
      Type.Literal('local', { description: "Redis was unavailable: only this replica's clients got it" }),
    ),
  },
  { additionalProperties: false },
)

export interface WebcontrolRoutesOptions {
  config: Config
}

const webcontrolRoutes: FastifyPluginAsyncTypebox<WebcontrolRoutesOptions> = async (fastify, { config }) => {
  // The contract ignores any request body: accept every content type and discard the bytes
  // unparsed, so a body that is not JSON cannot turn a button press into a 400.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    payload.on('error', done)
    payload.on('end', () => done(null, undefined))
    payload.resume()
  })

  fastify.put(
    '/webcontrol/:command',
    {
      schema: {
        params: Type.Object({
          command: Type.Union(
            config.webcontrolCommands.map((c) => Type.Literal(c)),
            { description: 'A configured command; case-sensitive' },
          ),
        }),
        response: { 202: CommandReply, ...errorResponses },
      },
      // An unknown command is the client's mistake, with the contract's exact body.
      attachValidation: true,
    },
    async (request, reply) => {
      const { command } = request.params
      if (request.validationError !== undefined) {
        return reply.code(400).send({ error: 'Invalid command' })
      }
      const delivery = await fastify.hub.sendCommand(command)
      fastify.metrics.command(command, delivery)
      request.log.info({ command, delivery }, 'web-control command sent')
      // The contract's exact body; `delivery` is added only when other replicas were missed.
      const body =
        delivery === 'local'
          ? { status: 'Command queued' as const, delivery }
          : { status: 'Command queued' as const }
      return reply.code(202).send(body)
    },
  )
}

export default webcontrolRoutes
