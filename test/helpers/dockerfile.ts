/** A small reader for the repository's Dockerfile and .dockerignore, enough for the ship tests. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Instruction {
  keyword: string
  /** Leading `--name=value` flags (`--from=build`, `--mount=...`), by name. */
  flags: Record<string, string>
  /** The arguments after the flags, as written (line continuations joined). */
  args: string
}

export interface Stage {
  /** The FROM image with global ARG defaults substituted. */
  image: string
  name: string | undefined
  instructions: Instruction[]
}

export interface Dockerfile {
  globalArgs: Record<string, string>
  stages: Stage[]
}

/** Joins `\` continuations and drops comments and blank lines (the default escape character). */
function logicalLines(text: string): string[] {
  const lines: string[] = []
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (/^\s*#/.test(line) || (current === '' && line.trim() === '')) continue
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `
      continue
    }
    lines.push((current + line).trim())
    current = ''
  }
  if (current.trim() !== '') lines.push(current.trim())
  return lines
}

function parseInstruction(line: string): Instruction {
  const match = /^(\S+)\s*(.*)$/.exec(line)
  if (match === null) throw new Error(`cannot read Dockerfile line: ${line}`)
  let rest = match[2] as string
  const flags: Record<string, string> = {}
  for (;;) {
    const flag = /^--([a-z-]+)=(\S+)\s*/.exec(rest)
    if (flag === null) break
    flags[flag[1] as string] = flag[2] as string
    rest = rest.slice(flag[0].length)
  }
  return { keyword: (match[1] as string).toUpperCase(), flags, args: rest }
}

function substitute(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args[name] ?? whole)
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {}
  const stages: Stage[] = []
  for (const line of logicalLines(text)) {
    const instruction = parseInstruction(line)
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)
      if (from === null) throw new Error(`cannot read FROM: ${instruction.args}`)
      stages.push({ image: substitute(from[1] as string, globalArgs), name: from[2], instructions: [] })
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before the first FROM`)
      const [name, value = ''] = instruction.args.split('=', 2) as [string, string?]
      globalArgs[name] = value
    } else {
      ;(stages.at(-1) as Stage).instructions.push(instruction)
    }
  }
  return { globalArgs, stages }
}

/** The instructions of a stage with that keyword. */
export function only(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword)
}

/** COPY's sources and destination (shell form; the Dockerfile uses no JSON-form COPY). */
export function copyPaths(instruction: Instruction): { sources: string[]; dest: string } {
  const words = instruction.args.split(/\s+/)
  return { sources: words.slice(0, -1), dest: words.at(-1) as string }
}

/** ENV's pairs (`NAME=value` form). */
export function envPairs(instruction: Instruction): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of instruction.args.split(/\s+/)) {
    const eq = pair.indexOf('=')
    if (eq < 0) throw new Error(`ENV without "=": ${instruction.args}`)
    env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return env
}

/** The exec form's argument list (a JSON array), or undefined for the shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  try {
    const value: unknown = JSON.parse(instruction.args)
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
  } catch {
    return undefined
  }
}

function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*'
      i++
    } else if (c === '*') source += '[^/]*'
    else if (c === '?') source += '[^/]'
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

/**
 * Whether a context path reaches the builder under a .dockerignore: the last pattern that
 * matches the path or one of its parent folders decides, `!` patterns re-including.
 */
export function inContext(dockerignore: string, path: string): boolean {
  const rules = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!')
      const pattern = (negated ? l.slice(1) : l).replace(/^\/+|\/+$/g, '')
      return { negated, regexp: globToRegExp(pattern) }
    })
  const parts = path.replace(/^\.\/|\/+$/g, '').split('/')
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let included = true
  for (const rule of rules) {
    if (prefixes.some((p) => rule.regexp.test(p))) included = rule.negated
  }
  return included
}

export function readRepoFile(repoRoot: string, name: string): string {
  return readFileSync(join(repoRoot, name), 'utf8')
}
