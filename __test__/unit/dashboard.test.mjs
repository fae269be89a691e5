// lib/sampler.js: the dashboard's data — the member list, the history and its trimming, and the
// JSON snapshot — on fake managers, with no database.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { Sampler, listMembers, snapshot, trimHistory } = require('../../lib/sampler.js')

const replica = (port, fields = {}) => ({
  host: '10.0.0.1',
  port,
  database: 'app',
  healthy: true,
  lastHealthCheck: '2025-01-01T00:00:00.000Z',
  failureCount: 0,
  responseTime: 3,
  role: 'replica',
  fenced: false,
  replicationLagBytes: 0,
  replicationLagMs: 1,
  lagging: false,
  eligible: true,
  queries: 0,
  ...fields,
})
const primary = (fields = {}) => ({
  name: 'primary',
  host: '10.0.0.1',
  port: 5432,
  database: 'app',
  reachable: true,
  role: 'primary',
  lastHealthCheck: '2025-01-01T00:00:00.000Z',
  timeline: 1,
  queries: 0,
  ...fields,
})
const noPrimary = () =>
  primary({
    name: null,
    host: null,
    port: null,
    database: null,
    reachable: false,
    role: null,
    timeline: null,
    queries: null,
  })

test('members: the status entries plus the writer it leaves out, primary first, one shape for all', () => {
  const members = listMembers({ replica_1: replica(5434), replica_0: replica(5433) }, primary())
  assert.deepEqual(
    members.map((m) => [m.name, m.role, m.writer, m.healthy, m.eligible]),
    [
      ['primary', 'primary', true, true, false],
      ['replica_0', 'replica', false, true, true],
      ['replica_1', 'replica', false, true, true],
    ],
  )
  // What getMetrics().primary has no field for is null, not undefined (JSON keeps the key).
  assert.equal(members[0].replicationLagMs, null)
  assert.equal(members[0].failureCount, null)
  assert.deepEqual(Object.keys(members[0]), Object.keys(members[1]), 'one shape for every member')
  // Statements served: the writer's from getMetrics().primary.queries, a replica's from its status.
  const served = listMembers({ replica_0: replica(5433, { queries: 42 }) }, primary({ queries: 7 }))
  assert.deepEqual(
    served.map((m) => [m.name, m.queries]),
    [
      ['primary', 7],
      ['replica_0', 42],
    ],
  )
})

test('members: only the fields it knows are copied (nothing else a status might carry, a password say)', () => {
  const [, m] = listMembers({ replica_0: replica(5433, { password: 'secret', user: 'app' }) }, primary())
  assert.equal(JSON.stringify(m).includes('secret'), false)
  assert.equal('user' in m, false)
})

test('members: a promoted replica is the writer in place; the old primary listed by the status stays', () => {
  const status = {
    primary: replica(5432, { role: 'replica', healthy: false, eligible: false }),
    replica_0: replica(5433, { role: 'primary', eligible: false }),
    replica_1: replica(5434),
  }
  const members = listMembers(status, primary({ name: 'replica_0', port: 5433, timeline: 2 }))
  assert.deepEqual(
    members.map((m) => [m.name, m.role, m.writer]),
    [
      ['primary', 'replica', false],
      ['replica_0', 'primary', true],
      ['replica_1', 'replica', false],
    ],
  )
})

test('members: while no member is primary, the writer last seen stands in, unreachable', () => {
  const last = { name: 'primary', host: '10.0.0.1', port: 5432, lastHealthCheck: '2025-01-01T00:00:00.000Z' }
  const members = listMembers({ replica_0: replica(5433) }, noPrimary(), last)
  assert.deepEqual(
    members.map((m) => [m.name, m.healthy, m.writer, m.port, m.queries]),
    [
      ['primary', false, false, 5432, null],
      ['replica_0', true, false, 5433, 0],
    ],
  )
  // Not when the status lists it already, nor without a writer seen.
  assert.equal(listMembers({ primary: replica(5432) }, noPrimary(), last).length, 1)
  assert.equal(listMembers({ replica_0: replica(5433) }, noPrimary(), null).length, 1)
})

test('members: replica_10 after replica_9, unknown names last', () => {
  const status = Object.fromEntries(['replica_10', 'other', 'replica_9', 'replica_0'].map((n) => [n, replica(1)]))
  assert.deepEqual(
    listMembers(status, noPrimary()).map((m) => m.name),
    ['replica_0', 'replica_9', 'replica_10', 'other'],
  )
})

test('history: samples older than the window are dropped, in place', () => {
  const history = [0, 1000, 2000, 3000, 4000].map((t) => ({ t }))
  const same = trimHistory(history, 4000, 2000)
  assert.equal(same, history)
  assert.deepEqual(
    history.map((s) => s.t),
    [2000, 3000, 4000],
  )
  assert.deepEqual(trimHistory([], 10, 5), [])
})

/** A fake manager: the status calls from mutable state; events and statements as given. */
function fakeManager(state) {
  return {
    getReplicaStatus: () => structuredClone(state.status),
    getMetrics: () => ({
      readQueries: state.reads ?? 0,
      writeQueries: state.writes ?? 0,
      replicaFailovers: 0,
      primaryChanges: 0,
      healthCheckFailures: 0,
      replicaCount: Object.keys(state.status).length,
      replicaStatus: structuredClone(state.status),
      primary: state.primary ?? primary(),
      queryStats: { fingerprints: 0, capacity: 500, evicted: 0, since: '2025-01-01T00:00:00.000Z' },
    }),
    getRecentEvents: () => state.events ?? [],
    getQueryStats: (options) => {
      state.asked?.push(options)
      return state.statements ?? []
    },
  }
}

test('sampler: samples the current manager, forgets everything when the manager changes', () => {
  let now = 1_000_000
  let current = null
  const sampler = new Sampler({ getManager: () => current, intervalMs: 2000, windowMs: 10_000, now: () => now })
  assert.equal(sampler.sample(), null, 'no manager: no sample')
  assert.deepEqual(sampler.history, [])

  const state = { status: { replica_0: replica(5433) }, reads: 0 }
  current = fakeManager(state)
  for (let i = 0; i < 8; i++) {
    now += 2000
    state.reads += 10
    state.writes = i
    state.status.replica_0.queries += 10
    if (i === 3) state.status.replica_0.healthy = false
    sampler.sample()
  }
  assert.equal(sampler.history.length, 6, 'ten seconds of samples, every two: the window and its edge')
  assert.deepEqual(
    sampler.history.map((s) => s.readQueries),
    [30, 40, 50, 60, 70, 80],
  )
  // Just what the page draws: the counters of its rates and each member's health band.
  assert.deepEqual(sampler.history.at(-1), {
    t: now,
    readQueries: 80,
    writeQueries: 7,
    members: { primary: { queries: 0, healthy: true }, replica_0: { queries: 80, healthy: false } },
  })
  assert.deepEqual(
    sampler.since(now - 4000).map((s) => s.t),
    [now - 2000, now],
  )
  assert.equal(sampler.since(null).length, 6)
  const id = sampler.id

  // Between managers (none initialized) history stays; a new manager starts afresh.
  current = null
  now += 2000
  assert.equal(sampler.sample(), null)
  assert.equal(sampler.history.length, 6)
  current = fakeManager({ status: { replica_0: replica(5433) } })
  sampler.sample()
  assert.notEqual(sampler.id, id)
  assert.equal(sampler.history.length, 1)
})

test('sampler: never throws, whatever the manager does', () => {
  const throwing = new Sampler({
    getManager: () => {
      throw new Error('not initialized')
    },
  })
  assert.equal(throwing.sample(), null)
  const broken = new Sampler({
    getManager: () => ({
      getReplicaStatus() {
        throw new Error('closed')
      },
    }),
  })
  assert.equal(broken.sample(), null)
  assert.deepEqual(broken.history, [])
})

test('sampler: the writer last seen stands in while no member is primary', () => {
  let now = 0
  const state = { status: { replica_0: replica(5433) } }
  const manager = fakeManager(state)
  const sampler = new Sampler({ getManager: () => manager, now: () => now })
  sampler.sample()
  state.primary = noPrimary()
  now += 2000
  sampler.sample()
  assert.deepEqual(sampler.history[1].members.primary, { queries: null, healthy: false })
})

test('snapshot: the JSON shape — members, counters, history, getRecentEvents(), getQueryStats({ limit: 10 })', () => {
  let now = 5_000_000
  const events = [
    { type: 'replica-unhealthy', level: 'warn', node: 'replica_0', address: 'h:1', message: 'm', time: 't' },
  ]
  const statements = [{ id: '0123456789abcdef', fingerprint: 'SELECT $1', calls: 1 }]
  const state = {
    status: { replica_0: replica(5433, { queries: 3 }), replica_1: replica(5434) },
    events,
    statements,
    asked: [],
  }
  const manager = fakeManager(state)
  const sampler = new Sampler({ getManager: () => manager, now: () => now })
  const data = snapshot(manager, sampler, { now })
  assert.deepEqual(Object.keys(data), [
    'status',
    'generatedAt',
    'intervalMs',
    'windowMs',
    'historyId',
    'members',
    'metrics',
    'history',
    'events',
    'statements',
  ])
  assert.equal(data.status, 'ok')
  assert.equal(data.generatedAt, new Date(now).toISOString())
  assert.deepEqual(
    data.members.map((m) => [m.name, m.queries]),
    [
      ['primary', 0],
      ['replica_0', 3],
      ['replica_1', 0],
    ],
  )
  assert.equal('replicaStatus' in data.metrics, false, 'its members are `members`')
  assert.equal(data.metrics.primary.name, 'primary')
  assert.equal(data.metrics.queryStats.capacity, 500)
  assert.equal(data.history.length, 1, 'the first request takes a first sample')
  assert.equal(data.events, events, 'the manager’s own events, as they are')
  assert.equal(data.statements, statements)
  assert.deepEqual(state.asked, [{ limit: 10 }])

  // The page asks for what it has not seen: samples after `since`, of the same history only.
  now += 2000
  sampler.sample()
  const t = data.history[0].t
  assert.equal(snapshot(manager, sampler, { since: t, historyId: data.historyId }).history.length, 1)
  assert.equal(snapshot(manager, sampler, { since: t, historyId: 'another' }).history.length, 2)
})

test('the page: one inline <script> and one <style>, nothing its CSP would block, nothing from elsewhere', () => {
  const html = readFileSync(new URL('../../lib/dashboard.html', import.meta.url), 'utf8')
  // lib/dashboard.js hashes exactly these two elements for the Content-Security-Policy.
  assert.equal(html.match(/<script\b/g).length, 1)
  assert.equal(html.match(/<style\b/g).length, 1)
  assert.match(html, /<script>[\s\S]*<\/script>/)
  assert.match(html, /<style>[\s\S]*<\/style>/)
  const markup = html.replace(/<script>[\s\S]*<\/script>/, '').replace(/<style>[\s\S]*<\/style>/, '')
  assert.doesNotMatch(markup, /\son[a-z]+=/i, 'no inline event handler attribute')
  assert.doesNotMatch(markup, /\sstyle=/i, 'no style attribute')
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, 'no CDN, no other origin')
  assert.doesNotMatch(
    html,
    /\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write/,
    'text only, never markup from data',
  )
})
