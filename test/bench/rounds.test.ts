/** How the bench turns several rounds of a scenario into one figure (bench/scenarios.ts). */
import t from 'tap'
import {
  combineFanoutRounds,
  combineWebcontrolRounds,
  type FanoutResult,
  medianRound,
  type WebcontrolResult,
} from '../../bench/scenarios.js'

function fanoutRound(p99: number, deliveriesPerSec: number, lost: number): FanoutResult {
  return {
    clients: 10,
    messages: 4,
    rate: 2,
    expected: 40,
    delivered: 40 - lost,
    lost,
    unknown: 1,
    outOfOrder: 2,
    checked: 3,
    mismatches: 4,
    dropped: 5,
    latencyMs: { count: 40 - lost, p50: p99 / 2, p99, max: p99 + 1 },
    deliveriesPerSec,
    cpuSeconds: p99 / 100,
    cpuUsPerDelivery: p99 / 10,
    cpuPercentOfCore: 30,
    loadGeneratorPercentOfCore: 40,
    machineBusyPercent: 50,
    rssKbBefore: 1,
    rssKbAfter: 2,
    stats: {} as FanoutResult['stats'],
  }
}

t.test('medianRound: the middle one by rank, the lower middle for an even count', async (t) => {
  t.equal(
    medianRound([5, 1, 9], (x) => x),
    5,
  )
  t.equal(
    medianRound([4, 1, 9, 7], (x) => x),
    4,
  )
  t.equal(
    medianRound([3], (x) => x),
    3,
  )
  t.throws(() => medianRound([], (x: number) => x))
})

t.test('fan-out rounds: every figure from the median round, every count added up', async (t) => {
  const noisy = fanoutRound(900, 50_000, 0)
  const typical = fanoutRound(200, 100_000, 1)
  const best = fanoutRound(150, 110_000, 0)
  const combined = combineFanoutRounds([noisy, typical, best], (r) => r.latencyMs.p99)
  t.same(combined.latencyMs, typical.latencyMs)
  t.equal(combined.cpuUsPerDelivery, typical.cpuUsPerDelivery)
  t.equal(combined.deliveriesPerSec, typical.deliveriesPerSec)
  t.equal(combined.expected, 120)
  t.equal(combined.delivered, 119)
  t.equal(combined.lost, 1)
  t.equal(combined.unknown, 3)
  t.equal(combined.outOfOrder, 6)
  t.equal(combined.checked, 9)
  t.equal(combined.mismatches, 12)
  t.equal(combined.dropped, 15)
  // Ranked by capacity instead (the burst): the median deliveries/s.
  t.equal(combineFanoutRounds([best, noisy, typical], (r) => -r.deliveriesPerSec).deliveriesPerSec, 100_000)
})

t.test('web-control rounds: the median round by p99, counts added up', async (t) => {
  const round = (p99: number, accepted: number, lost: number): WebcontrolResult => ({
    clients: 10,
    puts: 3,
    accepted,
    expected: 30,
    delivered: 30 - lost,
    lost,
    latencyMs: { count: 30 - lost, p50: 1, p99, max: p99 },
  })
  const combined = combineWebcontrolRounds([round(80, 3, 0), round(20, 3, 0), round(40, 2, 10)])
  t.equal(combined.latencyMs.p99, 40)
  t.equal(combined.puts, 9)
  t.equal(combined.accepted, 8)
  t.equal(combined.expected, 90)
  t.equal(combined.delivered, 80)
  t.equal(combined.lost, 10)
})
