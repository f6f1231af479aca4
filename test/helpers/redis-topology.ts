/**
 * Real Redis deployments on loopback for the fault matrix: a primary with a replica and
 * three Sentinels, and a three-primary Cluster made with `redis-cli --cluster create`.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Redis } from 'ioredis'
import { freePort, RedisServer } from './redis-server.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)

/** Runs `fn` with a client of `server`, and always disconnects it. */
export async function withClient<T>(server: RedisServer, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = server.client()
  try {
    return await fn(client)
  } finally {
    client.disconnect()
  }
}

/** `field:value` lines of an INFO or CLUSTER INFO reply. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim()
}

export class SentinelSet {
  readonly masterName = 'lsa'
  readonly dir: string
  readonly servers: RedisServer[]
  readonly sentinels: RedisServer[]

  private constructor(dir: string, servers: RedisServer[], sentinels: RedisServer[]) {
    this.dir = dir
    this.servers = servers
    this.sentinels = sentinels
  }

  /** A primary, one replica of it, and three Sentinels that know both and each other. */
  static async start(): Promise<SentinelSet> {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-sentinel-'))
    // Their own folder: a replica writes the RDB it receives to disk.
    const primary = await RedisServer.start({ args: ['--dir', dir] })
    const replica = await RedisServer.start({
      args: ['--dir', dir, '--replicaof', '127.0.0.1', String(primary.port)],
    })
    await waitFor(
      async () =>
        infoField(await withClient(replica, (c) => c.info('replication')), 'master_link_status') === 'up',
      'the replica to sync',
      { timeoutMs: 10000 },
    )
    const sentinels: RedisServer[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const configFile = join(dir, `sentinel-${port}.conf`)
      writeFileSync(
        configFile,
        [
          `sentinel monitor lsa 127.0.0.1 ${primary.port} 2`,
          // Quick to notice and to fail over, so the test stays short.
          'sentinel down-after-milliseconds lsa 1000',
          'sentinel failover-timeout lsa 6000',
          'sentinel parallel-syncs lsa 1',
          `dir ${dir}`,
          '',
        ].join('\n'),
      )
      sentinels.push(await RedisServer.startOn(port, { configFile, sentinel: true }))
    }
    const set = new SentinelSet(dir, [primary, replica], sentinels)
    // A failover needs a known replica; the vote needs the other Sentinels.
    for (const sentinel of sentinels) {
      await waitFor(
        async () =>
          withClient(sentinel, async (c) => {
            const replicas = (await c.call('SENTINEL', 'REPLICAS', 'lsa')) as unknown[]
            const peers = (await c.call('SENTINEL', 'SENTINELS', 'lsa')) as unknown[]
            return replicas.length === 1 && peers.length === 2
          }),
        `Sentinel ${sentinel.port} to know the replica and its peers`,
        { timeoutMs: 15000, intervalMs: 100 },
      )
    }
    return set
  }

  get addresses(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }))
  }

  /** The port the Sentinels name as the primary now. */
  async primaryPort(): Promise<number> {
    return withClient(this.sentinels[0] as RedisServer, async (c) => {
      const reply = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'lsa')) as [string, string]
      return Number(reply[1])
    })
  }

  server(port: number): RedisServer {
    const server = this.servers.find((s) => s.port === port)
    if (server === undefined) throw new Error(`no server on ${port}`)
    return server
  }

  /** SENTINEL FAILOVER, then waits until the old replica is the primary and says so itself. */
  async failover(): Promise<{ from: RedisServer; to: RedisServer }> {
    const from = this.server(await this.primaryPort())
    const to = this.servers.find((s) => s !== from) as RedisServer
    await withClient(this.sentinels[0] as RedisServer, (c) => c.call('SENTINEL', 'FAILOVER', 'lsa'))
    await waitFor(
      async () => (await this.primaryPort()) === to.port,
      'the Sentinels to name the new primary',
      {
        timeoutMs: 15000,
        intervalMs: 50,
      },
    )
    await waitFor(
      async () => infoField(await withClient(to, (c) => c.info('replication')), 'role') === 'master',
      'the new primary to be a master',
      { timeoutMs: 10000 },
    )
    return { from, to }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map((s) => s.stop()))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export class RedisCluster {
  readonly dir: string
  readonly nodes: RedisServer[]

  private constructor(dir: string, nodes: RedisServer[]) {
    this.dir = dir
    this.nodes = nodes
  }

  /**
   * Three primaries, no replicas. Each node keeps its cluster config and an always-fsynced
   * AOF in its own folder, so a restarted node comes back as itself, with its keys.
   */
  static async start(size = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-cluster-'))
    const nodes: RedisServer[] = []
    for (let i = 0; i < size; i++) {
      const nodeDir = join(dir, `node-${i}`)
      mkdirSync(nodeDir)
      // ACL SAVE writes here, so ACL users survive a restart like the keys do.
      writeFileSync(join(nodeDir, 'users.acl'), '')
      nodes.push(
        await RedisServer.start({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            // Its own free port: the default (port + 10000) may be taken or out of range.
            '--cluster-port',
            String(await freePort()),
            '--cluster-node-timeout',
            '1000',
            '--dir',
            nodeDir,
            '--appendonly',
            'yes',
            '--appendfsync',
            'always',
            '--aclfile',
            join(nodeDir, 'users.acl'),
          ],
        }),
      )
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    const cluster = new RedisCluster(dir, nodes)
    await cluster.waitHealthy()
    return cluster
  }

  /** Every node says cluster_state:ok and knows every other node. */
  async waitHealthy(timeoutMs = 15000): Promise<void> {
    for (const node of this.nodes) {
      await waitFor(
        async () =>
          withClient(node, async (c) => {
            const info = (await c.call('CLUSTER', 'INFO')) as string
            return (
              infoField(info, 'cluster_state') === 'ok' &&
              infoField(info, 'cluster_known_nodes') === String(this.nodes.length)
            )
          }),
        `cluster node ${node.port} to be ok`,
        { timeoutMs, intervalMs: 50 },
      )
    }
  }

  get addresses(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }))
  }

  /** The node that owns `key`'s slot. */
  async nodeOf(key: string): Promise<RedisServer> {
    const slot = (await withClient(this.nodes[0] as RedisServer, (c) =>
      c.call('CLUSTER', 'KEYSLOT', key),
    )) as number
    const ranges = (await withClient(this.nodes[0] as RedisServer, (c) => c.call('CLUSTER', 'SLOTS'))) as [
      number,
      number,
      [string, number],
    ][]
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)
    const port = range?.[2][1]
    const node = this.nodes.find((n) => n.port === port)
    if (node === undefined) throw new Error(`no node owns ${key}`)
    return node
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
