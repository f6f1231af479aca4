/** 405 for a known path with the wrong method (Fastify alone answers 404), with an Allow header. */
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods served on this URL path, empty when the path is unknown. */
    allowedMethods(url: string): string[]
  }
}

const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']

export default fp(
  async (fastify) => {
    // A shadow router that knows every route's path and method, and nothing else.
    const shadow = FindMyWay({ ignoreTrailingSlash: false })
    const noop = () => {}
    fastify.addHook('onRoute', (route) => {
      // The CORS plugin's catch-all OPTIONS route would make every path "known".
      if (route.url === '*' || route.path === '*') return
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      for (const method of methods) {
        if (!shadow.hasRoute(method as HTTPMethod, route.url))
          shadow.on(method as HTTPMethod, route.url, noop)
      }
    })
    fastify.decorate('allowedMethods', (url: string) => {
      const path = url.split('?')[0] ?? url
      return METHODS.filter((method) => shadow.find(method, path) !== null)
    })
  },
  { name: 'method-not-allowed', fastify: '5.x' },
)
