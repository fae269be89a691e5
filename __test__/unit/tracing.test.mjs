// lib/tracing.js without a database: when a statement is traced, what the channel's context and
// the OpenTelemetry span learn from a native trail, and that nothing is asked when nothing listens.

import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import * as otel from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

const require = createRequire(import.meta.url)
const { Tracing, CHANNEL, operationOf } = require('../../lib/tracing.js')

const MEMBERS = [
  { name: 'primary', host: 'db0', port: 5432, database: 'app' },
  { name: 'replica_0', host: 'db1', port: 5433, database: 'app' },
]
/** The native side's trail: fingerprint, route, reason, member, onWriter, failedOverFrom, rows. */
const TRAIL = ['SELECT * FROM t WHERE id = $1', 'replica', 'select', 0, true, 1, 3]

/** A statement "run" by a fake native side: resolves with `[trail, value]` when traced. */
function fakeSubmit(value, calls) {
  return (traced, finish) => {
    calls.push(traced)
    return Promise.resolve().then(() => finish(traced ? [TRAIL, value] : value))
  }
}

test('operationOf: the first keyword, past comments and parentheses', () => {
  assert.equal(operationOf('select 1'), 'SELECT')
  assert.equal(operationOf('  -- a comment\n/* block */ (SELECT 1) UNION (SELECT 2)'), 'SELECT')
  assert.equal(operationOf('WITH x AS (SELECT 1) SELECT * FROM x'), 'WITH')
  assert.equal(operationOf(''), null)
  assert.equal(operationOf('$$'), null)
})

test('nothing listening: the statement is not traced, and the native side is not asked for a trail', async () => {
  const calls = []
  const tracing = new Tracing(MEMBERS, null)
  const result = await tracing.statement('SELECT 1', fakeSubmit('reply', calls), (v) => `result of ${v}`)
  assert.equal(result, 'result of reply')
  assert.deepEqual(calls, [false])
})

test('a channel subscriber: the context carries the trail, named; errors reach the error event', async () => {
  const seen = []
  const handlers = {
    start: (ctx) => seen.push(['start', ctx.query]),
    end: () => seen.push(['end']),
    asyncStart: (ctx) => seen.push(['asyncStart', { ...ctx }]),
    asyncEnd: () => seen.push(['asyncEnd']),
    error: (ctx) => seen.push(['error', ctx.error.message, ctx.rowCount]),
  }
  const channel = diagnostics.tracingChannel(CHANNEL)
  channel.subscribe(handlers)
  try {
    const calls = []
    const tracing = new Tracing(MEMBERS, null)
    await tracing.statement('SELECT 1', fakeSubmit('reply', calls), (v) => v)
    assert.deepEqual(calls, [true])
    assert.deepEqual(
      seen.map((e) => e[0]),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    )
    const ctx = seen[2][1]
    assert.equal(ctx.query, TRAIL[0])
    assert.deepEqual(ctx.member, { name: 'primary', host: 'db0', port: 5432, role: 'primary' })
    assert.deepEqual(ctx.failover, { from: 'replica_0' })
    assert.deepEqual([ctx.route, ctx.reason, ctx.rowCount, ctx.result], ['replica', 'select', 3, 'reply'])

    seen.length = 0
    const failure = Object.assign(new Error('boom'), { code: '42P01' })
    await assert.rejects(
      tracing.statement('SELECT 1', fakeSubmit(failure, []), (v) => v),
      failure,
    )
    assert.deepEqual(
      seen.find((e) => e[0] === 'error'),
      ['error', 'boom', null],
    )
  } finally {
    channel.unsubscribe(handlers)
  }
})

test('OpenTelemetry: a recording CLIENT span per statement with the stable database attributes', async () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracing = new Tracing(MEMBERS, { ...otel, trace: { getTracer: (n, v) => provider.getTracer(n, v) } })
  await tracing.statement('select * from t where id = 1', fakeSubmit('reply', []), (v) => v)
  const failure = Object.assign(new Error('no table'), { code: '42P01' })
  await assert.rejects(tracing.statement('SELECT nope', fakeSubmit(failure, []), (v) => v))
  const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
  await assert.rejects(tracing.statement('SELECT 1', fakeSubmit(refused, []), (v) => v))
  const [ok, failed, down] = exporter.getFinishedSpans()
  assert.equal(ok.name, 'SELECT app')
  assert.equal(ok.kind, otel.SpanKind.CLIENT)
  assert.deepEqual(ok.attributes, {
    'db.system.name': 'postgresql',
    'db.namespace': 'app',
    'db.operation.name': 'SELECT',
    'db.query.text': TRAIL[0],
    'server.address': 'db0',
    'server.port': 5432,
    'read_replica_manager.route': 'replica',
    'read_replica_manager.route.reason': 'select',
    'read_replica_manager.member': 'primary',
  })
  assert.deepEqual(
    ok.events.map((e) => [e.name, e.attributes]),
    [['read_replica_manager.failover', { 'read_replica_manager.failover.from': 'replica_0' }]],
  )
  assert.equal(failed.status.code, otel.SpanStatusCode.ERROR)
  assert.equal(failed.attributes['error.type'], '42P01')
  assert.equal(failed.attributes['db.response.status_code'], '42P01')
  assert.equal(down.attributes['error.type'], 'ECONNREFUSED')
  assert.equal(down.attributes['db.response.status_code'], undefined, 'not a SQLSTATE')
})

test('OpenTelemetry installed but no SDK: spans do not record, so nothing is traced', async () => {
  const calls = []
  const tracing = new Tracing(MEMBERS, otel)
  await tracing.statement('SELECT 1', fakeSubmit('reply', calls), (v) => v)
  assert.deepEqual(calls, [false])
})
