import t from 'tap'
import { chartDir, helm, productionValues } from '../helpers/helm.js'

t.test('helm lint --strict passes with the default values', async (t) => {
  const result = await helm(['lint', '--strict', chartDir])
  t.equal(result.code, 0, 'exit code 0', { output: result.stdout + result.stderr })
  t.match(result.stdout, /^1 chart\(s\) linted, 0 chart\(s\) failed$/m)
  t.notMatch(result.stdout, /\[(WARNING|ERROR)\]/)
})

t.test('helm lint --strict passes with the production example values', async (t) => {
  const result = await helm(['lint', '--strict', chartDir, '-f', productionValues])
  t.equal(result.code, 0, 'exit code 0', { output: result.stdout + result.stderr })
  t.match(result.stdout, /^1 chart\(s\) linted, 0 chart\(s\) failed$/m)
  t.notMatch(result.stdout, /\[(WARNING|ERROR)\]/)
})

t.test('helm lint fails on values the schema rejects', async (t) => {
  const result = await helm(['lint', chartDir, '--set-string', 'replicaCount=two'])
  t.not(result.code, 0)
  t.match(result.stdout + result.stderr, "at '/replicaCount': got string, want integer")
})
