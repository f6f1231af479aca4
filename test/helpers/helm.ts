/** Running the helm binary on the chart, and reading what it renders. */
import { execFile, execFileSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const chartDir = join(repoRoot, 'helm', 'live-state-api')
export const productionValues = join(chartDir, 'ci', 'production-values.yaml')

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The helm binary, found as scripts/ensure-helm.sh finds it: $HELM, then PATH, then Go's bin
 * folder. Throws when there is none, so the tests fail rather than skip.
 */
export function findHelm(): string {
  const fromEnv = process.env.HELM
  if (fromEnv !== undefined && fromEnv !== '') {
    if (executable(fromEnv)) return fromEnv
    throw new Error(`HELM=${fromEnv} is not an executable file`)
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'helm'))) return join(dir, 'helm')
  }
  const candidates: string[] = []
  try {
    const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim()
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(delimiter)[0]
    if (gobin !== '') candidates.push(join(gobin, 'helm'))
    if (gopath !== undefined && gopath !== '') candidates.push(join(gopath, 'bin', 'helm'))
  } catch {
    // No go either: fall through to the error below.
  }
  const found = candidates.find(executable)
  if (found !== undefined) return found
  throw new Error('helm not found ($HELM, PATH, go env GOBIN/GOPATH): run scripts/ensure-helm.sh')
}

export interface HelmResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs helm; resolves with its exit code and output whether it succeeded or not. */
export function helm(args: string[]): Promise<HelmResult> {
  const binary = findHelm()
  return new Promise((resolve) => {
    execFile(binary, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

/** A rendered Kubernetes object; only the fields the tests read are typed loosely. */
export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML, checked field by field in the tests
  spec?: any
  data?: Record<string, string>
  automountServiceAccountToken?: boolean
}

export const RELEASE = 'live-state-api'

/** `helm template` with the release name "live-state-api"; throws with helm's message on failure. */
export async function render(extraArgs: string[] = []): Promise<Manifest[]> {
  const result = await helm(['template', RELEASE, chartDir, '--namespace', 'live', ...extraArgs])
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`)
  return parseManifests(result.stdout)
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML is invalid: ${doc.errors[0]?.message}`)
      return doc.toJS() as Manifest | null
    })
    .filter((m): m is Manifest => m !== null)
}

/** The one object of that kind and name. */
export function pick(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name)
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`)
  return found[0] as Manifest
}

/** "Kind/name" of every object, sorted: the exact set a render produces. */
export function inventory(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()
}

/**
 * Every environment variable the chart gives the service container: the ConfigMap it
 * loads with envFrom, and its own env entries.
 */
export function containerEnvNames(manifests: Manifest[], deploymentName: string): string[] {
  const deployment = pick(manifests, 'Deployment', deploymentName)
  const container = deployment.spec.template.spec.containers[0]
  const names: string[] = []
  for (const source of container.envFrom ?? []) {
    names.push(...Object.keys(pick(manifests, 'ConfigMap', source.configMapRef.name).data ?? {}))
  }
  for (const entry of container.env ?? []) names.push(entry.name)
  return names
}

/** The variable names in src/config.ts: every quoted upper-case name, and every `env.NAME`. */
export function configVariableNames(): Set<string> {
  const source = readFileSync(join(repoRoot, 'src', 'config.ts'), 'utf8')
  const quoted = [...source.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] as string)
  const read = [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] as string)
  return new Set([...quoted, ...read])
}
