// lib/sampler.js: the dashboard's data — the member list, the history and its trimming, the events
// inferred from samples, and the JSON snapshot — on fake managers, with no database.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const {
  MAX_EVENTS,
  Sampler,
  inferEvents,
  listMembers,
  snapshot,
  takeSample,
  trimHistory,
} = require('../../lib/sampler.js')

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
  ...fields,
})
const noPrimary = () =>
  primary({ name: null, host: null, port: null, database: null, reachable: false, role: null, timeline: null })

test('members: the status entries plus the writer it leaves out, primary first, missing fields null', () => {
  const members = listMembers({ replica_1: replica(5434), replica_0: replica(5433) }, primary())
  assert.deepEqual(
    members.map((m) => [m.name, m.role, m.writer, m.healthy, m.eligible]),
    [
      ['primary', 'primary', true, true, false],
      ['replica_0', 'replica', false, true, true],
      ['replica_1', 'replica', false, true, true],
    ],
  )
  // The addon reports no per-member `queries` yet: null, not undefined (JSON keeps the key).
  assert.equal(members[1].queries, null)
  assert.equal(members[0].replicationLagMs, null)
  assert.deepEqual(Object.keys(members[0]), Object.keys(members[1]), 'one shape for every member')
  assert.equal(listMembers({ replica_0: replica(5433, { queries: 42 }) }, primary({ queries: 7 }))[0].queries, 7)
  assert.equal(listMembers({ replica_0: replica(5433, { queries: 42 }) }, primary({ queries: 7 }))[1].queries, 42)
})

test('members: only the fields it knows are copied (nothing else a status might carry, a password say)', () => {
  const [m] = listMembers({ replica_0: replica(5433, { password: 'secret', user: 'app' }) }, null)
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
    members.map((m) => [m.name, m.healthy, m.writer, m.port]),
    [
      ['primary', false, false, 5432],
      ['replica_0', true, false, 5433],
    ],
  )
  // Not when the status lists it already, nor without a writer seen.
  assert.equal(listMembers({ primary: replica(5432) }, noPrimary(), last).length, 1)
  assert.equal(listMembers({ replica_0: replica(5433) }, noPrimary(), null).length, 1)
})

test('members: replica_10 after replica_9, unknown names last', () => {
  const status = Object.fromEntries(['replica_10', 'other', 'replica_9', 'replica_0'].map((n) => [n, replica(1)]))
  assert.deepEqual(
    listMembers(status, null).map((m) => m.name),
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

/** A sample of members given as name → { healthy, role, lagging, queries }. */
function sample(t, members, counters = {}) {
  const list = Object.entries(members).map(([name, m]) => ({
    name,
    healthy: m.healthy ?? true,
    role: 'role' in m ? m.role : 'replica',
    lagging: m.lagging ?? false,
    queries: m.queries ?? null,
    replicationLagMs: 0,
  }))
  const writer = counters.writer === undefined ? 'primary' : counters.writer
  return takeSample(t, list, {
    readQueries: 0,
    writeQueries: 0,
    replicaFailovers: 0,
    primaryChanges: 0,
    ...counters,
    primary: { name: writer },
  })
}

const types = (events) => events.map((e) => `${e.type} ${e.node}`)

test('events: health, role and lag changes of a member; nothing without a previous sample', () => {
  const a = sample(0, { primary: { role: 'primary' }, replica_0: {}, replica_1: {} })
  const b = sample(2000, {
    primary: { role: 'primary' },
    replica_0: { healthy: false, role: null },
    replica_1: { lagging: true },
  })
  assert.deepEqual(inferEvents(undefined, a), [])
  const events = inferEvents(a, b, { replica_0: '10.0.0.1:5433' })
  assert.deepEqual(types(events), ['replica-unhealthy replica_0', 'replica-lagging replica_1'])
  assert.deepEqual(Object.keys(events[0]), ['type', 'level', 'node', 'address', 'message', 'time', 'inferred'])
  assert.equal(events[0].address, '10.0.0.1:5433')
  assert.equal(events[0].level, 'warn')
  assert.equal(events[0].time, new Date(2000).toISOString())
  assert.equal(events[1].address, null)

  const c = sample(4000, { primary: { role: 'primary' }, replica_0: {}, replica_1: {} })
  assert.deepEqual(types(inferEvents(b, c)), ['replica-recovered replica_0', 'replica-caught-up replica_1'])
  // A member whose role became unknown (unhealthy) and came back the same: no role event.
  assert.deepEqual(inferEvents(c, c), [])
})

test('events: a failover of the primary — promoted, demoted, primary changed; failovers counted', () => {
  const a = sample(0, { primary: { role: 'primary' }, replica_0: {} }, { replicaFailovers: 2 })
  const b = sample(
    2000,
    { primary: { role: 'replica' }, replica_0: { role: 'primary' } },
    { writer: 'replica_0', primaryChanges: 1, replicaFailovers: 5 },
  )
  const events = inferEvents(a, b)
  assert.deepEqual(types(events), [
    'member-demoted primary',
    'member-promoted replica_0',
    'primary-changed replica_0',
    'failover null',
  ])
  assert.match(events[3].message, /^3 reads failed over/)
  // primaryChanges alone (two changes back and forth within one interval) still tells.
  const c = sample(
    4000,
    { primary: { role: 'replica' }, replica_0: { role: 'primary' } },
    {
      writer: 'replica_0',
      primaryChanges: 3,
      replicaFailovers: 5,
    },
  )
  assert.deepEqual(types(inferEvents(b, c)), ['primary-changed replica_0'])
  assert.match(inferEvents(b, c)[0].message, /2 primary changes/)
})

test('events: the writer unreachable and back is told as the primary, not as a replica', () => {
  const up = sample(0, { primary: { role: 'primary' }, replica_0: {} })
  const down = sample(2000, { primary: { healthy: false, role: null }, replica_0: {} }, { writer: null })
  assert.deepEqual(types(inferEvents(up, down)), ['primary-unreachable primary'])
  assert.equal(inferEvents(up, down)[0].level, 'error')
  assert.deepEqual(types(inferEvents(down, up)), ['primary-reachable primary'])
  // Counters that went backwards (a reset) or are unknown infer nothing.
  const reset = sample(4000, { primary: { role: 'primary' }, replica_0: {} }, { replicaFailovers: null })
  assert.deepEqual(inferEvents(sample(0, { primary: { role: 'primary' } }, { replicaFailovers: 9 }), reset), [])
})

/** A fake manager: the two status calls, from mutable state. */
function fakeManager(state, extra = {}) {
  return {
    getReplicaStatus: () => structuredClone(state.status),
    getMetrics: () => ({
      readQueries: state.reads ?? 0,
      writeQueries: 0,
      replicaFailovers: state.failovers ?? 0,
      primaryChanges: 0,
      healthCheckFailures: 0,
      replicaCount: Object.keys(state.status).length,
      replicaStatus: structuredClone(state.status),
      primary: state.primary ?? primary(),
    }),
    ...extra,
  }
}

test('sampler: samples the current manager, infers events, forgets everything when the manager changes', () => {
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
    if (i === 3) state.status.replica_0.healthy = false
    sampler.sample()
  }
  assert.equal(sampler.history.length, 6, 'ten seconds of samples, every two: the window and its edge')
  assert.deepEqual(
    sampler.history.map((s) => s.readQueries),
    [30, 40, 50, 60, 70, 80],
  )
  assert.deepEqual(types(sampler.events), ['replica-unhealthy replica_0'])
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
  assert.deepEqual(sampler.events, [])
})

test('sampler: never throws, whatever the manager does; keeps at most MAX_EVENTS events', () => {
  let now = 0
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

  const state = { status: { replica_0: replica(5433) } }
  const manager = fakeManager(state)
  const sampler = new Sampler({ getManager: () => manager, now: () => now })
  for (let i = 0; i < MAX_EVENTS + 20; i++) {
    now += 2000
    state.status.replica_0.healthy = i % 2 === 0
    sampler.sample()
  }
  assert.equal(sampler.events.length, MAX_EVENTS)
  assert.equal(sampler.events.at(-1).time, new Date(now).toISOString(), 'the newest kept')
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
  assert.deepEqual(sampler.history[1].members.primary, {
    queries: null,
    lagMs: null,
    healthy: false,
    role: null,
    lagging: null,
  })
  assert.deepEqual(types(sampler.events), ['primary-unreachable primary'])
})

test('snapshot: the JSON shape; events inferred and no statements while the addon lacks those calls', () => {
  let now = 5_000_000
  const state = { status: { replica_0: replica(5433), replica_1: replica(5434) } }
  const manager = fakeManager(state)
  const sampler = new Sampler({ getManager: () => manager, now: () => now })
  const data = snapshot(manager, sampler, { now })
  assert.deepEqual(Object.keys(data), [
    'status',
    'generatedAt',
    'intervalMs',
    'windowMs',
    'historyId',
    'sources',
    'members',
    'metrics',
    'history',
    'events',
    'statements',
  ])
  assert.equal(data.status, 'ok')
  assert.equal(data.generatedAt, new Date(now).toISOString())
  assert.deepEqual(data.sources, { events: 'inferred', statements: null })
  assert.deepEqual(
    data.members.map((m) => m.name),
    ['primary', 'replica_0', 'replica_1'],
  )
  assert.equal('replicaStatus' in data.metrics, false, 'its members are `members`')
  assert.equal(data.metrics.primary.name, 'primary')
  assert.equal(data.history.length, 1, 'the first request takes a first sample')
  assert.deepEqual(data.events, [])
  assert.deepEqual(data.statements, [])

  // The page asks for what it has not seen: samples after `since`, of the same history only.
  now += 2000
  sampler.sample()
  const t = data.history[0].t
  assert.equal(snapshot(manager, sampler, { since: t, historyId: data.historyId }).history.length, 1)
  assert.equal(snapshot(manager, sampler, { since: t, historyId: 'another' }).history.length, 2)
})

test('snapshot: getRecentEvents() and getQueryStats({ limit: 10 }) when the addon has them', () => {
  const events = [
    { type: 'replica-unhealthy', level: 'warn', node: 'replica_0', address: 'h:1', message: 'm', time: 't' },
  ]
  const stats = [{ id: '0123456789abcdef', fingerprint: 'SELECT $1', calls: 1 }]
  const asked = []
  const manager = fakeManager(
    { status: { replica_0: replica(5433) } },
    {
      getRecentEvents: () => events,
      getQueryStats: (options) => {
        asked.push(options)
        return stats
      },
    },
  )
  const data = snapshot(manager, new Sampler({ getManager: () => manager }))
  assert.deepEqual(data.sources, { events: 'getRecentEvents', statements: 'getQueryStats' })
  assert.equal(data.events, events)
  assert.equal(data.statements, stats)
  assert.deepEqual(asked, [{ limit: 10 }])

  // One that throws is treated as absent.
  const failing = fakeManager(
    { status: {} },
    {
      getQueryStats() {
        throw new Error('stats off')
      },
    },
  )
  const fallback = snapshot(failing, new Sampler({ getManager: () => failing }))
  assert.deepEqual(fallback.sources, { events: 'inferred', statements: null })
  assert.deepEqual(fallback.statements, [])
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
