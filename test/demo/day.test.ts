import t from 'tap'
import { clock, publishesBetween } from '../../demo/day.js'

const at1250 = 12 * 60 + 50

function count(list: { type: string }[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const { type } of list) out[type] = (out[type] ?? 0) + 1
  return out
}

t.test('one simulated hour from 12:50 follows the fixtures README', async (t) => {
  const hour = publishesBetween(at1250, 0, 60)
  // MLB plays from 13:00: every 30 s from 13:00 to 13:50, both included.
  t.same(count(hour), { Weather: 4, AQI: 4, Calendar: 4, Moon: 1, Events: 1, GitHub: 6, NFL: 60, MLB: 101 })
  const minutes = hour.map((p) => p.minute)
  t.same(
    minutes,
    [...minutes].sort((a, b) => a - b),
  )
  t.same(hour[0], { minute: 1, type: 'NFL', file: 'NFL.json' })
  t.same(
    hour.find((p) => p.type === 'MLB'),
    { minute: 10, type: 'MLB', file: 'MLB.json' },
  )
})

t.test('intervals split anywhere give the same publishes', async (t) => {
  const whole = publishesBetween(at1250, 0, 90)
  const parts = [
    ...publishesBetween(at1250, 0, 33.3),
    ...publishesBetween(at1250, 33.3, 61),
    ...publishesBetween(at1250, 61, 90),
  ]
  t.same(parts, whole)
})

t.test('no MLB after 23:30, Calendar alternates its two files', async (t) => {
  const late = publishesBetween(23 * 60 + 30, 0, 60)
  t.equal(late.filter((p) => p.type === 'MLB').length, 0)
  t.same(
    late.filter((p) => p.type === 'Calendar').map((p) => p.file),
    ['Calendar-no-events.json', 'Calendar.json', 'Calendar-no-events.json', 'Calendar.json'],
  )
})

t.test('clock', async (t) => {
  t.equal(clock(at1250, 0), '12:50')
  t.equal(clock(at1250, 75.9), '14:05')
  t.equal(clock(at1250, 24 * 60), '12:50')
})
