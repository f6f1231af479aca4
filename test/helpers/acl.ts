/** The README's minimal ACL for the service, as ACL SETUSER rules; the tests run the service as this user. */
import type { RedisServer } from './redis-server.js'
import { withClient } from './redis-topology.js'

export const SERVICE_USER = 'live-state'

/** `extra`: `+select` for a database other than 0, `+cluster|slots +cluster|info` in Cluster mode. */
export function minimalAcl(
  password: string,
  keyPrefix: string,
  channel: string,
  extra: string[] = [],
  controlChannel = 'webcontrol',
): string[] {
  return [
    'reset',
    'on',
    `>${password}`,
    `~${keyPrefix}*`,
    `&${channel}`,
    `&${controlChannel}`,
    '+get',
    '+mget',
    '+type',
    '+hgetall',
    '+lrange',
    '+smembers',
    '+zrange',
    '+ping',
    '+subscribe',
    '+publish',
    '+info',
    '+client|setname',
    ...extra,
  ]
}

/** Creates the service's user on `server` (and saves it when the server has an ACL file), and clears the ACL log. */
export async function createServiceUser(server: RedisServer, rules: string[], save = false): Promise<void> {
  await withClient(server, async (c) => {
    await c.call('ACL', 'SETUSER', SERVICE_USER, ...rules)
    if (save) await c.call('ACL', 'SAVE')
    await c.call('ACL', 'LOG', 'RESET')
  })
}

/** Commands the ACL refused since the last reset: none, when the ACL is enough. */
export async function aclRefusals(server: RedisServer): Promise<unknown[]> {
  return withClient(server, async (c) => (await c.call('ACL', 'LOG')) as unknown[])
}
