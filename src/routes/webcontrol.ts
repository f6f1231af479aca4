/** PUT /webcontrol/{command}: relays a remote-control button press to every display. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import { frameUpdate } from '../lib/sse.js'
import { errorResponses, StatusReply } from '../schemas.js'

export interface WebcontrolRoutesOptions {
  config: Config
}

const webcontrolRoutes: FastifyPluginAsyncTypebox<WebcontrolRoutesOptions> = async (fastify, { config }) => {
  // Each command's event is framed once, at start-up.
  const frames = new Map(
    config.webcontrolCommands.map((command) => [
      command,
      frameUpdate(Buffer.from(JSON.stringify({ type: 'webcontrol', command }))),
    ]),
  )

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
        response: { 202: StatusReply, ...errorResponses },
      },
      // An unknown command is the client's mistake, with the contract's exact body.
      attachValidation: true,
    },
    async (request, reply) => {
      const frame = request.validationError === undefined ? frames.get(request.params.command) : undefined
      if (frame === undefined) return reply.code(400).send({ error: 'Invalid command' })
      fastify.hub.broadcast(frame)
      request.log.info(
        { command: request.params.command, clients: fastify.hub.size },
        'web-control command sent',
      )
      return reply.code(202).send({ status: 'Command queued' })
    },
  )
}

export default webcontrolRoutes
