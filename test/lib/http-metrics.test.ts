import t from 'tap'
import { HttpMetrics } from '../../src/lib/http-metrics.js'
import { parseExposition } from '../helpers/metrics.js'

const options = {
  requestsName: 'x_requests_total',
  requestsHelp: 'Requests\\ by\nroute',
  durationName: 'x_seconds',
  durationHelp: 'Time',
  buckets: [0.001, 0.01, 1],
}

t.test('nothing recorded: both families with HELP and TYPE, no samples', async (t) => {
  t.equal(
    new HttpMetrics(options).text(),
    [
      '# HELP x_requests_total Requests\\\\ by\\nroute',
      '# TYPE x_requests_total counter',
      '# HELP x_seconds Time',
      '# TYPE x_seconds histogram',
      '',
    ].join('\n'),
  )
})

t.test(
  'counts, cumulative buckets, sum and count per label set; untimed responses only counted',
  async (t) => {
    const http = new HttpMetrics(options)
    for (const seconds of [0.0005, 0.003, 0.003, 0.01, 7]) http.record('GET', '/key/:key', '200', seconds)
    http.record('GET', '/events', '200', undefined)
    http.record('GET', '/events', 'aborted', undefined)
    http.record('GET', '/key/:key', '503', 0.002)
    t.equal(
      http.text(),
      [
        '# HELP x_requests_total Requests\\\\ by\\nroute',
        '# TYPE x_requests_total counter',
        'x_requests_total{method="GET",route="/key/:key",status_code="200"} 5',
        'x_requests_total{method="GET",route="/events",status_code="200"} 1',
        'x_requests_total{method="GET",route="/events",status_code="aborted"} 1',
        'x_requests_total{method="GET",route="/key/:key",status_code="503"} 1',
        '# HELP x_seconds Time',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{le="0.001",method="GET",route="/key/:key",status_code="200"} 1',
        'x_seconds_bucket{le="0.01",method="GET",route="/key/:key",status_code="200"} 4',
        'x_seconds_bucket{le="1",method="GET",route="/key/:key",status_code="200"} 4',
        'x_seconds_bucket{le="+Inf",method="GET",route="/key/:key",status_code="200"} 5',
        `x_seconds_sum{method="GET",route="/key/:key",status_code="200"} ${0.0005 + 0.003 + 0.003 + 0.01 + 7}`,
        'x_seconds_count{method="GET",route="/key/:key",status_code="200"} 5',
        'x_seconds_bucket{le="0.001",method="GET",route="/key/:key",status_code="503"} 0',
        'x_seconds_bucket{le="0.01",method="GET",route="/key/:key",status_code="503"} 1',
        'x_seconds_bucket{le="1",method="GET",route="/key/:key",status_code="503"} 1',
        'x_seconds_bucket{le="+Inf",method="GET",route="/key/:key",status_code="503"} 1',
        'x_seconds_sum{method="GET",route="/key/:key",status_code="503"} 0.002',
        'x_seconds_count{method="GET",route="/key/:key",status_code="503"} 1',
        '',
      ].join('\n'),
    )
  },
)

t.test('label values are escaped so that a parser reads them back as they were', async (t) => {
  const http = new HttpMetrics(options)
  const route = 'a "quoted" \\ back\nslash'
  http.record('GET', route, '200', 0.5)
  const exposition = parseExposition(http.text())
  t.same(
    exposition.samples.filter((s) => s.name === 'x_requests_total'),
    [{ name: 'x_requests_total', labels: { method: 'GET', route, status_code: '200' }, value: 1 }],
  )
  t.equal(exposition.help.get('x_requests_total'), 'Requests\\ by\nroute')
})
