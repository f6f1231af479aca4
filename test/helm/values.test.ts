/** values.yaml, values.schema.json and the values table in the README's "Deploy to Kubernetes" section agree, and every value is commented. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isMap, type Pair, parseDocument, type YAMLMap } from 'yaml'
import { chartDir, repoRoot } from '../helpers/helm.js'

interface SchemaNode {
  properties?: Record<string, SchemaNode>
}

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode
const doc = parseDocument(readFileSync(join(chartDir, 'values.yaml'), 'utf8'))
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
// The section alone: the README's other tables list environment variables, not values.
const sectionStart = readme.indexOf('## Deploy to Kubernetes')
const docs = readme.slice(sectionStart, readme.indexOf('\n## ', sectionStart + 1))

interface Value {
  path: string
  comment: string
  value: unknown
  /** A group of values (its schema lists properties) rather than one value. */
  group: boolean
}

/** Every key of values.yaml down to the schema's leaves (Kubernetes objects stay whole). */
function values(map: YAMLMap, node: SchemaNode, prefix = ''): Value[] {
  const found: Value[] = []
  map.items.forEach((pair: Pair, i) => {
    const key = String((pair.key as { value: unknown }).value)
    const path = prefix + key
    const sub = node.properties?.[key]
    if (sub === undefined) throw new Error(`${path} is in values.yaml but not in values.schema.json`)
    // yaml puts a comment above a map's first key on the map itself.
    const comment =
      (pair.key as { commentBefore?: string }).commentBefore ?? (i === 0 ? map.commentBefore : '')
    const group = sub.properties !== undefined
    found.push({ path, comment: comment ?? '', value: (pair.value as { toJSON(): unknown }).toJSON(), group })
    if (group) {
      if (!isMap(pair.value)) throw new Error(`${path} must be a map`)
      found.push(...values(pair.value, sub, `${path}.`))
    }
  })
  return found
}

const all = values(doc.contents as YAMLMap, schema)
const leaves = all.filter((v) => !v.group)

t.test('every key of values.yaml has a comment above it', async (t) => {
  t.ok(all.length > 80)
  for (const v of all) t.match(v.comment, /\S/, `${v.path} is commented`)
})

t.test('every value of the schema has a default in values.yaml', async (t) => {
  const schemaPaths = (node: SchemaNode, prefix = ''): string[] =>
    Object.entries(node.properties ?? {}).flatMap(([key, sub]) =>
      key === 'global' && prefix === '' ? [] : [prefix + key, ...schemaPaths(sub, `${prefix}${key}.`)],
    )
  t.same(
    all.map((v) => v.path),
    schemaPaths(schema),
  )
})

t.test('the docs table lists every value once, with its default', async (t) => {
  // Biome pads the table's cells; the path column is the first `code` cell of a row.
  const rows = [...docs.matchAll(/^\|\s*`([A-Za-z.]+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$/gm)]
  t.same(
    rows.map((r) => r[1]),
    leaves.map((v) => v.path),
  )
  for (const row of rows) {
    const v = leaves.find((l) => l.path === row[1]) as Value
    const objectValue = v.value !== null && typeof v.value === 'object' && !Array.isArray(v.value)
    const expected =
      objectValue && Object.keys(v.value as object).length > 0
        ? '(see values.yaml)'
        : `\`${JSON.stringify(v.value)}\``
    t.equal(row[2], expected, `${v.path} default`)
    t.match(row[3], /\S/, `${v.path} meaning`)
  }
})
