/** The Dockerfile and .dockerignore, read statically: valid syntax and the properties the image relies on. */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { DEFAULTS } from '../../src/config.js'
import {
  copyPaths,
  envPairs,
  execForm,
  inContext,
  only,
  parseDockerfile,
  readRepoFile,
  type Stage,
} from '../helpers/dockerfile.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const text = readRepoFile(repoRoot, 'Dockerfile')
const dockerignore = readRepoFile(repoRoot, '.dockerignore')
const dockerfile = parseDockerfile(text)
const [build, runtime] = dockerfile.stages as [Stage, Stage]

t.test('dockerfile-utils finds no problem', async (t) => {
  const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)
  t.same(problems, [])
})

t.test('two stages on the Node 20 slim image: build, then runtime', async (t) => {
  t.same(
    dockerfile.stages.map((s) => [s.name, s.image]),
    [
      ['build', 'node:20-bookworm-slim'],
      ['runtime', 'node:20-bookworm-slim'],
    ],
  )
})

t.test('the build stage installs everything and compiles with the build script', async (t) => {
  t.same(
    only(build, 'RUN').map((i) => i.args),
    ['npm ci --ignore-scripts', 'npm run build'],
  )
  const pkg = JSON.parse(readRepoFile(repoRoot, 'package.json')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json')
})

t.test('the build writes the file the runtime stage starts', async (t) => {
  // tsconfig.build.json extends tsconfig.json: rootDir "." keeps src/ under outDir.
  const base = JSON.parse(readRepoFile(repoRoot, 'tsconfig.json')) as {
    compilerOptions: { outDir: string; rootDir: string }
  }
  const buildConfig = JSON.parse(readRepoFile(repoRoot, 'tsconfig.build.json')) as {
    extends: string
    include: string[]
  }
  t.equal(buildConfig.extends, './tsconfig.json')
  t.equal(base.compilerOptions.outDir, 'dist')
  t.equal(base.compilerOptions.rootDir, '.')
  t.ok(buildConfig.include.includes('src'))
  const cmd = only(runtime, 'CMD')
  t.equal(cmd.length, 1)
  t.same(execForm(cmd[0]!), ['node', 'dist/src/server.js'])
  t.same(
    only(runtime, 'COPY').map((i) => [i.flags.from, i.args]),
    [
      [undefined, 'package.json package-lock.json ./'],
      ['build', '/app/dist ./dist'],
    ],
  )
  t.same(
    only(build, 'WORKDIR').map((i) => i.args),
    ['/app'],
  )
  t.same(
    only(runtime, 'WORKDIR').map((i) => i.args),
    ['/app'],
  )
})

t.test('the runtime stage: production dependencies only, NODE_ENV, no npm at start', async (t) => {
  t.same(only(runtime, 'ENV').map(envPairs), [{ NODE_ENV: 'production' }])
  t.same(
    only(runtime, 'RUN').map((i) => i.args),
    ['npm ci --omit=dev --ignore-scripts'],
  )
  // The npm cache lives in a BuildKit cache mount, never in an image layer.
  t.same(
    only(runtime, 'RUN').map((i) => i.flags.mount),
    ['type=cache,target=/root/.npm'],
  )
  for (const stage of dockerfile.stages) {
    t.same(only(stage, 'ENTRYPOINT'), [], `no ENTRYPOINT in ${stage.name}`)
    t.same(only(stage, 'HEALTHCHECK'), [], `no HEALTHCHECK in ${stage.name}`)
  }
})

t.test('the runtime stage runs as a numeric non-root user', async (t) => {
  const user = only(runtime, 'USER')
  t.same(
    user.map((i) => i.args),
    ['1000:1000'],
  )
  // USER comes after every RUN and COPY: the files stay root's, the process cannot change them.
  const keywords = runtime.instructions.map((i) => i.keyword)
  t.ok(keywords.indexOf('USER') > keywords.lastIndexOf('RUN'))
  t.ok(keywords.indexOf('USER') > keywords.lastIndexOf('COPY'))
})

t.test('EXPOSE is the service default port', async (t) => {
  t.same(
    only(runtime, 'EXPOSE').map((i) => i.args),
    [String(DEFAULTS.port)],
  )
})

t.test('.dockerignore keeps the context to what the Dockerfile copies', async (t) => {
  const copied = dockerfile.stages.flatMap((s) =>
    only(s, 'COPY')
      .filter((i) => i.flags.from === undefined)
      .flatMap((i) => copyPaths(i).sources),
  )
  t.same(copied, [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'src',
    'package.json',
    'package-lock.json',
  ])
  for (const path of [...copied, 'src/server.ts', 'src/plugins/redis.ts']) {
    t.equal(inContext(dockerignore, path), true, `${path} is in the context`)
  }
  for (const path of [
    'node_modules',
    'node_modules/fastify/package.json',
    'dist/src/server.js',
    '.git',
    '.git/HEAD',
    'test/routes/smoke.test.ts',
    'helm/live-state-api/values.yaml',
    'bench/results/run.json',
    'docs/deploy-kubernetes.md',
    '.env',
    'Dockerfile',
    '.tap/processinfo',
    'coverage/lcov.info',
  ]) {
    t.equal(inContext(dockerignore, path), false, `${path} is not in the context`)
  }
})
