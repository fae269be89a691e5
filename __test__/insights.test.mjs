// What the manager tells about the statements it runs, against the real cluster: OpenTelemetry
// spans (the SDK's in-memory exporter), the diagnostics_channel, getQueryStats(), slow-query
// events and the Prometheus top statements — after one known mix of reads, writes, a failed
// statement, a transaction and a read that failed over from a stopped replica.

import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, afterEach, before, test } from 'node:test'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { cluster, clusterStatus, configs, PRIMARY_PORT, REPLICA_PORTS, replicated, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
const PORT_OF = { primary: PRIMARY_PORT, replica_0: REPLICA_PORTS[0], replica_1: REPLICA_PORTS[1] }
const SECRET = 'value-that-must-never-show'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager().enable()

before(() => {
  trace.setGlobalTracerProvider(provider)
  context.setGlobalContextManager(contextManager)
})

// A test that fails midway must not leave its manager to the next one (the singleton would
// hand it back, with its options).
afterEach(() => closeReadReplicaManager())

after(async () => {
  await closeReadReplicaManager()
  trace.disable()
  context.disable()
  if (!clusterStatus().replica_1.running) cluster('start-node', 'replica_1')
})

/** Every context the channel published at asyncEnd (success) or error. */
function subscribe() {
  const seen = []
  const handlers = {
    start() {},
    end() {},
    asyncStart() {},
    asyncEnd(ctx) {
      if (!('error' in ctx)) seen.push({ ...ctx })
    },
    error(ctx) {
      seen.push({ ...ctx })
    },
  }
  const channel = diagnostics.tracingChannel('read-replica-manager:query')
  channel.subscribe(handlers)
  return { seen, stop: () => channel.unsubscribe(handlers) }
}

/** The known mix, inside a parent span; returns what it learned (ports that served, the failover). */
async function runMix(manager) {
  const tracer = trace.getTracer('insights-test')
  return tracer.startActiveSpan('request', async (parent) => {
    try {
      await manager.query('CREATE TABLE IF NOT EXISTS insights_t (id int PRIMARY KEY, secret text)')
      await manager.query('INSERT INTO insights_t VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [1, SECRET])
      await manager.query(`INSERT INTO insights_t VALUES (2, '${SECRET}') ON CONFLICT (id) DO NOTHING`)
      await replicated(manager)
      const reads = []
      for (const list of ['1, 2', '1, 2, 3, 4']) {
        const r = await manager.query(`SELECT id, inet_server_port() AS port FROM insights_t WHERE id IN (${list})`)
        reads.push(r.rows[0].port)
      }
      await assert.rejects(manager.query('SELECT * FROM insights_missing_table'), { code: '42P01' })
      const client = await manager.getClient('write')
      try {
        await client.query('BEGIN')
        await client.query('UPDATE insights_t SET secret = $1 WHERE id = 1', [SECRET])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      // A read that fails over: replica_1 stopped while the manager still takes it for healthy
      // (no health check runs in this test), so the round-robin read sent there runs on another.
      cluster('stop-node', 'replica_1')
      let failedOver = null
      try {
        for (let i = 0; i < 4 && failedOver === null; i++) {
          const before = manager.getMetrics().replicaFailovers
          const { rows } = await manager.query('SELECT inet_server_port() AS port, $1::text AS v', [SECRET])
          if (manager.getMetrics().replicaFailovers > before) failedOver = rows[0].port
        }
      } finally {
        cluster('start-node', 'replica_1')
      }
      return { parent: parent.spanContext(), reads, failedOver }
    } finally {
      parent.end()
    }
  })
}

test('spans, channel contexts and statement stats of one mix agree, and carry no value', {
  timeout: 120_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 3_600_000,
    failureThreshold: 10,
  })
  manager.resetQueryStats()
  exporter.reset()
  const channel = subscribe()
  let mix
  try {
    mix = await runMix(manager)
  } finally {
    channel.stop()
  }
  assert.ok(mix.failedOver !== null, 'a read failed over from the stopped replica')

  // replicated() polls the primary a varying number of times: its statements are left out.
  const mine = (text) => !/pg_stat_replication|pg_current_wal_insert_lsn/.test(text)
  const spans = exporter.getFinishedSpans().filter((s) => s.name !== 'request' && mine(s.attributes['db.query.text']))
  channel.seen.splice(0, Infinity, ...channel.seen.filter((c) => mine(c.query)))
  // CREATE, 2 INSERTs, 2 reads, the failed one, BEGIN/UPDATE/COMMIT, 1–4 reads to the failover.
  assert.ok(spans.length >= 10 && spans.length <= 13, spans.map((s) => s.attributes['db.query.text']).join('\n'))
  assert.equal(channel.seen.length, spans.length, 'one channel trace per span')
  for (const [i, span] of spans.entries()) {
    const a = span.attributes
    const ctx = channel.seen[i]
    assert.equal(span.kind, SpanKind.CLIENT)
    assert.equal(span.parentSpanContext?.spanId, mix.parent.spanId, 'child of the active span')
    assert.equal(a['db.system.name'], 'postgresql')
    assert.equal(a['db.namespace'], primaryConfig.database)
    assert.equal(span.name, `${a['db.operation.name']} ${primaryConfig.database}`)
    assert.equal(a['db.query.text'], ctx.query)
    assert.equal(a['read_replica_manager.member'], ctx.member.name)
    assert.equal(a['server.address'], ctx.member.host)
    assert.equal(a['server.port'], PORT_OF[ctx.member.name])
    assert.equal(a['read_replica_manager.route'], ctx.route)
    assert.equal(a['read_replica_manager.route.reason'], ctx.reason)
    assert.ok(!JSON.stringify(a).includes(SECRET), `no value in ${a['db.query.text']}`)
    assert.ok(!JSON.stringify(ctx.query).includes(SECRET))
  }

  const byText = (re) => spans.filter((s) => re.test(s.attributes['db.query.text']))
  // Literals and IN lists normalized: both reads share one fingerprint; each served where it says.
  const reads = byText(/FROM insights_t WHERE id IN/)
  assert.equal(reads.length, 2)
  assert.equal(reads[0].attributes['db.query.text'], reads[1].attributes['db.query.text'])
  assert.deepEqual(
    reads.map((s) => s.attributes['server.port']),
    mix.reads,
  )
  for (const s of reads) {
    assert.equal(s.attributes['read_replica_manager.route'], 'replica')
    assert.equal(s.attributes['read_replica_manager.route.reason'], 'select')
    assert.equal(s.attributes['db.operation.name'], 'SELECT')
  }
  const inserts = byText(/^INSERT INTO insights_t/)
  assert.equal(inserts.length, 2)
  for (const s of inserts) {
    assert.equal(s.attributes['read_replica_manager.route'], 'primary')
    assert.equal(s.attributes['read_replica_manager.member'], 'primary')
  }
  // The failed statement: an error span with its SQLSTATE.
  const [failed] = byText(/insights_missing_table/)
  assert.equal(failed.status.code, SpanStatusCode.ERROR)
  assert.equal(failed.attributes['error.type'], '42P01')
  assert.equal(failed.attributes['db.response.status_code'], '42P01')
  assert.equal(channel.seen[spans.indexOf(failed)].error.code, '42P01')
  // The transaction on a getClient client: spans too, on the primary, route 'client'.
  const tx = spans.filter((s) => s.attributes['read_replica_manager.route'] === 'client')
  assert.deepEqual(
    tx.map((s) => s.attributes['db.operation.name']),
    ['BEGIN', 'UPDATE', 'COMMIT'],
  )
  assert.ok(tx.every((s) => s.attributes['read_replica_manager.member'] === 'primary'))
  // The failed-over read: a span event names the replica it left; the span names who served it.
  const overs = spans.filter((s) => s.events.some((e) => e.name === 'read_replica_manager.failover'))
  assert.equal(overs.length, 1)
  const [over] = overs
  assert.equal(over.events[0].attributes['read_replica_manager.failover.from'], 'replica_1')
  assert.equal(over.attributes['server.port'], mix.failedOver)
  assert.notEqual(mix.failedOver, REPLICA_PORTS[1])
  assert.deepEqual(channel.seen[spans.indexOf(over)].failover, { from: 'replica_1' })

  // The same mix in getQueryStats().
  const stats = manager.getQueryStats()
  const entry = (re) => stats.find((s) => re.test(s.fingerprint))
  assert.ok(!JSON.stringify(stats).includes(SECRET), 'no value in the stats')
  const readStats = entry(/FROM insights_t WHERE id IN/)
  assert.equal(readStats.calls, 2)
  assert.equal(readStats.rows, 4)
  assert.equal(readStats.route, 'replica')
  assert.equal(readStats.reason, 'select')
  assert.equal(
    Object.values(readStats.members).reduce((a, b) => a + b, 0),
    2,
  )
  assert.equal(readStats.fingerprint, reads[0].attributes['db.query.text'])
  assert.match(readStats.id, /^[0-9a-f]{16}$/)
  const insertStats = stats.filter((s) => /^INSERT INTO insights_t/.test(s.fingerprint))
  assert.ok(insertStats.length >= 1 && insertStats.every((s) => s.route === 'primary' && s.members.primary >= 1))
  const failedStats = entry(/insights_missing_table/)
  assert.deepEqual([failedStats.calls, failedStats.errors], [1, 1])
  const update = entry(/^UPDATE insights_t/)
  assert.deepEqual([update.route, update.reason, update.members], ['client', 'client', { primary: 1 }])
  const overStats = entry(/inet_server_port\(\) AS port, \$1::text/)
  assert.equal(overStats.failovers, 1)
  for (const s of stats) {
    assert.ok(s.totalTimeMs > 0 && s.maxTimeMs <= s.totalTimeMs + 1e-9)
    assert.ok(Math.abs(s.meanTimeMs * s.calls - s.totalTimeMs) < 1e-6)
    assert.ok(s.p50TimeMs > 0 && s.p99TimeMs >= s.p50TimeMs)
  }
  for (let i = 1; i < stats.length; i++) assert.ok(stats[i - 1].totalTimeMs >= stats[i].totalTimeMs, 'by total time')
  assert.equal(manager.getQueryStats({ limit: 2 }).length, 2)
  assert.throws(() => manager.getQueryStats({ limit: -1 }), /options\.limit/)
  const { queryStats } = manager.getMetrics()
  assert.equal(queryStats.fingerprints, stats.length)
  assert.equal(queryStats.capacity, 500)
  // Statements served, per member, in the status.
  assert.ok(manager.getMetrics().primary.queries >= 6)
  manager.resetQueryStats()
  assert.deepEqual(manager.getQueryStats(), [])
  await closeReadReplicaManager()
})

test('a statement refused before it runs is traced as such: route reject, no member, not in the stats', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  manager.resetQueryStats()
  const channel = subscribe()
  try {
    await assert.rejects(manager.query('BEGIN'), { code: 'ERR_RRM_TRANSACTION_CONTROL' })
  } finally {
    channel.stop()
  }
  const [ctx] = channel.seen
  assert.deepEqual(
    [ctx.query, ctx.route, ctx.reason, ctx.member, ctx.rowCount],
    ['BEGIN', 'reject', 'transaction-control', null, null],
  )
  assert.equal(ctx.error.code, 'ERR_RRM_TRANSACTION_CONTROL')
  assert.deepEqual(manager.getQueryStats(), [])
})

test('manager.pg statements are spans and stats too (ORMs go through it)', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  exporter.reset()
  const pool = new manager.pg.Pool()
  await pool.query('SELECT $1::int AS n', [7])
  const client = await pool.connect()
  await client.query('BEGIN')
  await client.query('SELECT 1 AS one')
  await client.query('COMMIT')
  client.release()
  await pool.end()
  const spans = exporter.getFinishedSpans()
  assert.deepEqual(
    spans.map((s) => [s.attributes['db.query.text'], s.attributes['read_replica_manager.route']]),
    [
      ['SELECT $1::int AS n', 'replica'],
      ['BEGIN', 'client'],
      ['SELECT $1 AS one', 'client'],
      ['COMMIT', 'client'],
    ],
  )
  assert.ok(manager.getQueryStats().some((s) => s.fingerprint === 'SELECT $1::int AS n'))
  await closeReadReplicaManager()
})

test('slowQueryMs: one slow-query event per slow statement, with its fingerprint and member, never a value', async () => {
  const events = []
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    slowQueryMs: 150,
    onEvent: (e) => events.push(e),
  })
  await manager.query('SELECT $1::text AS fast', [SECRET])
  await manager.query(`SELECT pg_sleep(0.2), '${SECRET}' AS slow`)
  await waitFor('the slow-query event', () => events.some((e) => e.type === 'slow-query'))
  const slow = events.filter((e) => e.type === 'slow-query')
  assert.equal(slow.length, 1)
  const [e] = slow
  assert.equal(e.level, 'warn')
  assert.equal(e.fingerprint, 'SELECT pg_sleep($1), $2 AS slow')
  assert.ok(e.durationMs >= 150)
  assert.equal(e.route, 'replica')
  assert.equal(e.reason, 'select')
  assert.equal(e.rowCount, 1)
  assert.ok(['replica_0', 'replica_1'].includes(e.node))
  assert.match(e.address, /^127\.0\.0\.1:\d+$/)
  assert.ok(!JSON.stringify(e).includes(SECRET))
  assert.ok(!manager.getRecentEvents().some((r) => r.type === 'slow-query'), 'not kept as a state change')
  await closeReadReplicaManager()
})

test('queryStatsSize bounds the stats (evictions counted); 0 turns them off; Prometheus shows the top K on request', async () => {
  let manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    queryStatsSize: 5,
    prometheusTopQueries: 2,
  })
  for (let i = 0; i < 8; i++) await manager.query(`SELECT ${i} AS c${i}`)
  assert.ok(manager.getQueryStats().length <= 5)
  assert.ok(manager.getMetrics().queryStats.evicted >= 3)
  const text = manager.getPrometheusMetrics()
  const calls = text.split('\n').filter((l) => l.startsWith('rrm_statement_calls_total{'))
  assert.equal(calls.length, 2)
  assert.match(calls[0], /^rrm_statement_calls_total\{id="[0-9a-f]{16}",query="SELECT \$1 AS c\d"\} 1$/)
  assert.match(text, /^rrm_query_stats_evicted_total \d+$/m)
  await closeReadReplicaManager()

  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { queryStatsSize: 0 })
  await manager.query('SELECT 1')
  assert.deepEqual(manager.getQueryStats(), [])
  assert.equal(manager.getMetrics().queryStats, null)
  assert.doesNotMatch(manager.getPrometheusMetrics(), /rrm_statement_calls_total|rrm_query_stats/)
  await closeReadReplicaManager()

  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  await manager.query('SELECT 1')
  assert.doesNotMatch(manager.getPrometheusMetrics(), /rrm_statement_calls_total/, 'top statements are opt-in')
  await closeReadReplicaManager()
  await assert.rejects(initializeReadReplicaManager(primaryConfig, replicaConfigs, { slowQueryMs: -1 }), /slowQueryMs/)
})
