/** Where things are: the repository root, the built entry points and the shared fixtures. */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The nearest folder above this file that holds package.json: works from bench/ and dist/bench/. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json not found above the bench folder')
    dir = parent
  }
}

export const REPO_ROOT = findRepoRoot()
/** BENCH_SERVICE_ENTRY: another build of the service to measure (a candidate change), same floor. */
export const SERVICE_ENTRY = resolve(
  process.env.BENCH_SERVICE_ENTRY ?? join(REPO_ROOT, 'dist', 'src', 'server.js'),
)
export const FLOOR_ENTRY = join(REPO_ROOT, 'dist', 'bench', 'floor.js')
export const WORKER_ENTRY = join(REPO_ROOT, 'dist', 'bench', 'client-worker.js')
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results')
export const FIXTURES_DIR = resolve(process.env.FIXTURES_DIR ?? join(REPO_ROOT, '..', 'shared', 'fixtures'))
