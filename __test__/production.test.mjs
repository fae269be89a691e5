// The production surface: events and logging, Prometheus metrics (checked by a real
// exposition-format parser), and the Express handlers over real HTTP (the guide's route:
// docs/guide.md, "Health Check Endpoint").

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, test } from 'node:test'
import express from 'express'
import parsePrometheus from 'parse-prometheus-text-format'
import {
  closeReadReplicaManager,
  healthCheckHandler,
  initializeReadReplicaManager,
  metricsHandler,
} from 'read-replica-manager'
import { cluster, clusterStatus, configs, PASSWORD, servedBy, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()

after(async () => {
  await closeReadReplicaManager()
  for (const name of ['replica_0', 'replica_1']) {
    if (!clusterStatus()[name].running) cluster('start-node', name)
  }
})

test('state changes reach options.logger and options.onEvent, never one per query', { timeout: 60_000 }, async () => {
  const events = []
  const logged = { info: [], warn: [], error: [] }
  const logger = {
    info: (e) => logged.info.push(e),
    warn: (e) => logged.warn.push(e),
    error: (e) => logged.error.push(e),
  }
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    onEvent: (e) => events.push(e),
    logger,
  })
  let running = true
  const readers = Array.from({ length: 8 }, async () => {
    while (running) await servedBy(manager)
  })
  cluster('stop-node', 'replica_1')
  await waitFor('unhealthy event', () => events.some((e) => e.type === 'replica-unhealthy' && e.node === 'replica_1'))
  cluster('start-node', 'replica_1')
  await waitFor('recovered event', () => events.some((e) => e.type === 'replica-recovered' && e.node === 'replica_1'))
  running = false
  await Promise.all(readers)
  await closeReadReplicaManager()

  const unhealthy = events.find((e) => e.type === 'replica-unhealthy')
  assert.equal(unhealthy.level, 'warn')
  assert.equal(unhealthy.address, `${replicaConfigs[1].host}:${replicaConfigs[1].port}`)
  assert.match(unhealthy.message, /replica_1 .* is unhealthy/)
  assert.equal(new Date(unhealthy.time).toISOString(), unhealthy.time)
  // Failovers are reported, but at most one per replica per second however many reads failed.
  const failovers = events.filter((e) => e.type === 'failover')
  assert.ok(failovers.length >= 1 && failovers.length <= 5, `failover events: ${failovers.length}`)
  assert.ok(manager.getMetrics().replicaFailovers >= failovers.length)
  // The logger got the same events, at their levels.
  assert.deepEqual(
    [...logged.info, ...logged.warn, ...logged.error].map((e) => e.type).sort(),
    events.map((e) => e.type).sort(),
  )
  assert.ok(logged.warn.includes(unhealthy))
  assert.ok(!JSON.stringify(events).includes(PASSWORD))
})

test('getPrometheusMetrics() is valid exposition format with every family', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  try {
    for (let i = 0; i < 10; i++) await servedBy(manager)
    await manager.query('SELECT 1', [], { route: 'primary' })
    const text = manager.getPrometheusMetrics()
    const families = Object.fromEntries(parsePrometheus(text).map((f) => [f.name, f]))
    const metrics = manager.getMetrics()
    const value = (name, labels = {}) => {
      const m = families[name].metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
      return Number(m.value)
    }
    assert.equal(value('rrm_read_queries_total'), metrics.readQueries)
    assert.equal(value('rrm_write_queries_total'), metrics.writeQueries)
    assert.equal(value('rrm_routes_total', { reason: 'select' }), metrics.routes.select)
    assert.equal(value('rrm_node_healthy', { node: 'replica_0' }), 1)
    assert.equal(value('rrm_node_role', { node: 'primary', role: 'primary' }), 1)
    assert.equal(value('rrm_node_role', { node: 'replica_1', role: 'replica' }), 1)
    for (const name of [
      'rrm_replica_failovers_total',
      'rrm_health_check_failures_total',
      'rrm_replica_eligible',
      'rrm_replication_lag_bytes',
      'rrm_pool_size',
      'rrm_pool_idle',
      'rrm_pool_waiting',
      'rrm_misrouted_reads_total',
    ]) {
      assert.ok(families[name], name)
    }
    assert.equal(families.rrm_query_duration_seconds.type, 'HISTOGRAM')
    // This parser merges labelled histogram series, so each node's series is parsed alone.
    const header = text.split('\n').filter((l) => l.startsWith('# ') && l.includes('rrm_query_duration_seconds '))
    let served = 0
    for (const node of ['primary', 'replica_0', 'replica_1']) {
      const series = text
        .split('\n')
        .filter((l) => l.startsWith('rrm_query_duration_seconds') && l.includes(`node="${node}"`))
      const [family] = parsePrometheus([...header, ...series, ''].join('\n'))
      // Order buckets by bound (integer-like keys such as "1" come first in a JS object).
      const counts = Object.entries(family.metrics[0].buckets)
        .sort(([a], [b]) => Number(a.replace('+Inf', 'Infinity')) - Number(b.replace('+Inf', 'Infinity')))
        .map(([, count]) => Number(count))
      assert.deepEqual(
        counts,
        [...counts].sort((a, b) => a - b),
        'buckets are cumulative',
      )
      const total = counts.at(-1)
      assert.ok(series.some((l) => l.startsWith('rrm_query_duration_seconds_count') && l.endsWith(` ${total}`)))
      if (node !== 'primary') served += total
    }
    assert.equal(served, 10)
  } finally {
    await closeReadReplicaManager()
  }
})

test('Express handlers: the guide route, a strict readiness check and /metrics over HTTP', {
  timeout: 60_000,
}, async () => {
  const app = express()
  app.get('/health/replicas', healthCheckHandler())
  app.get('/ready', healthCheckHandler({ strict: true }))
  app.get('/metrics', metricsHandler())
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${server.address().port}`
  try {
    assert.equal((await fetch(`${url}/ready`)).status, 503, 'not initialized yet')
    const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 200 })
    const health = await fetch(`${url}/health/replicas`)
    assert.equal(health.status, 200)
    const body = await health.json()
    assert.equal(body.status, 'ok')
    assert.deepEqual(Object.keys(body), ['status', 'replicas', 'metrics'])
    assert.equal((await fetch(`${url}/ready`)).status, 200)

    const metrics = await fetch(`${url}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(metrics.headers.get('content-type'), /^text\/plain/)
    assert.ok(parsePrometheus(await metrics.text()).length > 10)

    cluster('stop-node', 'replica_0')
    cluster('stop-node', 'replica_1')
    await waitFor('no replica eligible', () => Object.values(manager.getReplicaStatus()).every((r) => !r.eligible))
    const degraded = await fetch(`${url}/ready`)
    assert.equal(degraded.status, 503)
    assert.equal((await degraded.json()).status, 'degraded')
    assert.equal((await fetch(`${url}/health/replicas`)).status, 200, 'the guide route stays 200')
  } finally {
    cluster('start-node', 'replica_0')
    cluster('start-node', 'replica_1')
    server.close()
    await closeReadReplicaManager()
  }
})
