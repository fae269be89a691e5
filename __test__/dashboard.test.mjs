// The dashboard (dashboardHandler()): its JSON over node:http, and its page in a real headless
// Chromium (Debian's, driven by puppeteer-core) under Express — no console error, a card per
// member with its query rate, the top statements by fingerprint, and a replica stopped and
// started again seen on its card and as the manager's own events on the timeline.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'
import express from 'express'
import puppeteer from 'puppeteer-core'
import {
  closeReadReplicaManager,
  dashboardHandler,
  getReadReplicaManager,
  initializeReadReplicaManager,
} from 'read-replica-manager'
import { cluster, clusterStatus, configs, PASSWORD, REPLICA_PORTS, servedBy, waitFor } from './helpers.mjs'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const { primaryConfig, replicaConfigs } = configs()
/** A read with a parameter and a literal, and its fingerprint: the literal numbered after `$1`, no value. */
const LOOKUP = "SELECT relname FROM pg_class WHERE oid = $1 AND relname <> 'not-a-table'"
const LOOKUP_FINGERPRINT = 'SELECT relname FROM pg_class WHERE oid = $1 AND relname <> $2'

/** Servers on ephemeral ports: the handler on its own (node:http) and mounted in Express. */
async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}`
}
const plain = createServer(dashboardHandler())
const app = express()
app.use('/dashboard', dashboardHandler())
const mounted = createServer(app)
let plainUrl
let pageUrl
let browser
let page
/** Console errors and page errors, with the phase they came in. */
const problems = []
let phase = 'before initialization'

/**
 * Headless Chromium. A launch that does not print its DevTools endpoint in time (seen once in a
 * full CI run on a loaded 2-core machine) is tried once more before the test fails.
 */
async function launchChromium() {
  const launch = () =>
    puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      // Root in a container: no user namespaces for the sandbox, and a small /dev/shm.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    })
  try {
    return await launch()
  } catch (err) {
    console.error(`Chromium did not start (${err.message}); trying once more`)
    return launch()
  }
}

before(
  async () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`)
    plainUrl = await listen(plain)
    pageUrl = `${await listen(mounted)}/dashboard`
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warn') problems.push({ phase, text: msg.text() })
    })
    page.on('pageerror', (err) => problems.push({ phase, text: `pageerror: ${err.message}` }))
  },
  { timeout: 150_000 },
)

after(async () => {
  await browser?.close()
  plain.close()
  mounted.close()
  await closeReadReplicaManager()
  // Leave the cluster as the other suites expect it: replica_1 running and serving.
  if (!clusterStatus().replica_1.running) cluster('start-node', 'replica_1')
})

/** The page's member cards: name → data-healthy. */
const cards = () =>
  page.$$eval('[data-member]', (els) => Object.fromEntries(els.map((e) => [e.dataset.member, e.dataset.healthy])))
const timeline = (type, node) => page.$(`#events li[data-type="${type}"][data-node="${node}"]`)
/** The timeline's rows, newest first: [type, node, time]. */
const timelineRows = () =>
  page.$$eval('#events li', (els) => els.map((e) => [e.dataset.type, e.dataset.node, e.querySelector('time').dateTime]))
/** The cards' current query rates (statements per second, from the samples of `queries`): name → rate or null. */
const queryRates = () =>
  page.$$eval('[data-member]', (els) =>
    Object.fromEntries(els.map((e) => [e.dataset.member, e.dataset.queryRate ? Number(e.dataset.queryRate) : null])),
  )
/** A card's "Queries" line. */
const queriesLine = (name) =>
  page.$eval(`[data-member="${name}"]`, (card) => {
    const dt = [...card.querySelectorAll('dt')].find((e) => e.textContent === 'Queries')
    return dt.nextElementSibling.textContent
  })
/** The top statements table: [fingerprint, calls, route, served by] per row. */
const statementRows = () =>
  page.$$eval('#statements:not([hidden]) tbody tr', (rows) =>
    rows.map((tr) => {
      const cells = [...tr.cells]
      return [
        cells[0].querySelector('code').textContent,
        cells[1].textContent,
        cells[4].firstChild.textContent,
        cells[5].textContent,
      ]
    }),
  )

/** Starts replica_1 again if it is stopped, and waits until it serves reads through `manager`. */
async function replicaBack(manager) {
  if (!clusterStatus().replica_1.running) cluster('start-node', 'replica_1')
  await waitFor(
    'replica_1 to serve reads again',
    async () => (await servedBy(manager).catch(() => null)) === REPLICA_PORTS[1],
    30_000,
    10,
  )
}

test('before initialization: 503 JSON, and the page says so and keeps polling', { timeout: 30_000 }, async () => {
  const res = await fetch(`${plainUrl}/?format=json`)
  assert.equal(res.status, 503)
  assert.match(res.headers.get('content-type'), /^application\/json/)
  const body = await res.json()
  assert.equal(body.status, 'unavailable')
  assert.match(body.error, /not initialized/)
  assert.equal((await fetch(`${pageUrl}?format=json`)).status, 503, 'the same under Express')

  const html = await fetch(plainUrl)
  assert.equal(html.status, 200)
  assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8')
  const csp = html.headers.get('content-security-policy')
  assert.match(csp, /default-src 'none'/)
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'only the page’s own script')
  assert.match(csp, /connect-src 'self'/)
  assert.match(await html.text(), /^<!doctype html>/)
  assert.equal((await fetch(plainUrl, { method: 'POST' })).status, 405)

  await page.goto(pageUrl)
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('not initialized'))
  assert.equal((await page.$$('[data-member]')).length, 0)
})

test('JSON: members with their queries, metrics, history, the manager’s events and statements — no password', {
  timeout: 30_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    failureThreshold: 1,
  })
  phase = 'initialized'
  for (let i = 0; i < 20; i++) await servedBy(manager)
  await manager.query('SELECT pg_current_wal_lsn()', [], { route: 'primary' })

  const res = await fetch(`${plainUrl}/?format=json`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const text = await res.text()
  assert.equal(text.includes(PASSWORD), false, 'no password anywhere')
  const data = JSON.parse(text)
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
  assert.ok(!Number.isNaN(Date.parse(data.generatedAt)))
  assert.deepEqual(
    data.members.map((m) => [m.name, m.role, m.healthy, m.writer]),
    [
      ['primary', 'primary', true, true],
      ['replica_0', 'replica', true, false],
      ['replica_1', 'replica', true, false],
    ],
  )
  for (const m of data.members) {
    for (const key of ['host', 'port', 'eligible', 'lagging', 'fenced', 'replicationLagMs', 'replicationLagBytes']) {
      assert.ok(key in m, `${m.name}.${key}`)
    }
    for (const key of ['responseTime', 'failureCount', 'lastHealthCheck']) assert.ok(key in m)
  }
  // Statements served: the writer's from getMetrics().primary, the replicas' from their status.
  const status = manager.getReplicaStatus()
  assert.deepEqual(
    data.members.map((m) => [m.name, m.queries]),
    [
      ['primary', manager.getMetrics().primary.queries],
      ['replica_0', status.replica_0.queries],
      ['replica_1', status.replica_1.queries],
    ],
  )
  assert.ok(data.members[0].queries >= 1, 'the primary ran pg_current_wal_lsn()')
  assert.equal(data.members[1].queries + data.members[2].queries, 20, 'the replicas ran the 20 reads')
  assert.equal(data.metrics.readQueries, manager.getMetrics().readQueries)
  assert.equal('replicaStatus' in data.metrics, false)
  assert.equal(data.metrics.queryStats.capacity, 500)
  assert.ok(data.history.length >= 1)
  assert.deepEqual(Object.keys(data.history[0].members).sort(), ['primary', 'replica_0', 'replica_1'])

  // The manager's own events and top statements, as they are.
  assert.deepEqual(data.events, manager.getRecentEvents())
  assert.deepEqual(data.statements, manager.getQueryStats({ limit: 10 }))
  const read = data.statements.find((s) => s.fingerprint === 'SELECT inet_server_port() AS port')
  assert.equal(read?.calls, 20)
  assert.equal(read.route, 'replica')
  assert.equal((read.members.replica_0 ?? 0) + (read.members.replica_1 ?? 0), 20)
  const write = data.statements.find((s) => s.fingerprint === 'SELECT pg_current_wal_lsn()')
  assert.deepEqual(
    [write?.calls, write.route, write.reason, write.members],
    [1, 'primary', 'override-primary', { primary: 1 }],
  )

  // The page picks the manager up by itself.
  await page.waitForFunction(() => document.querySelectorAll('[data-member]').length === 3, { timeout: 10_000 })
  assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'true' })
  assert.equal(await page.$eval('#status', (e) => e.textContent), 'live')
})

test('the page: query rates, the top statements, a stopped replica on its card and in the manager’s events', {
  timeout: 120_000,
}, async () => {
  const manager = getReadReplicaManager() // the one initialized above
  assert.equal(
    manager.getRecentEvents().some((e) => e.node === 'replica_1'),
    false,
    'nothing about replica_1 on the timeline before it stops',
  )
  // Reads on the replicas and on the primary, so every card has a rate and a read fails over.
  let running = true
  const load = (async () => {
    for (let i = 0; running; i++) {
      await servedBy(manager).catch(() => {})
      await manager.query(LOOKUP, [1259 + (i % 2)]).catch(() => {})
      if (i % 4 === 0) await servedBy(manager, { route: 'primary' }).catch(() => {})
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  try {
    // Every card: statements per second, drawn from its `queries` over the samples.
    await waitFor(
      'a query rate on every card',
      async () => Object.values(await queryRates()).every((rate) => rate > 0),
      20_000,
      200,
    )
    assert.deepEqual(Object.keys(await queryRates()), ['primary', 'replica_0', 'replica_1'])
    for (const name of ['primary', 'replica_0', 'replica_1']) {
      assert.match(await queriesLine(name), /^[\d,]+ · [\d.,]+\/s$/, `${name}: count · rate`)
    }

    // The top statements: the lookup by its fingerprint (never its values), on the replicas.
    const lookup = await waitFor('the lookup in the top statements', async () =>
      (await statementRows()).find(([fingerprint]) => fingerprint === LOOKUP_FINGERPRINT),
    )
    assert.ok(Number(lookup[1].replaceAll(',', '')) > 0, `calls: ${lookup[1]}`)
    assert.equal(lookup[2], 'replica')
    assert.match(lookup[3], /^replica_[01] [\d,]+( · replica_[01] [\d,]+)?$/, 'served by the replicas')
    assert.ok(
      (await statementRows()).some(([fingerprint]) => fingerprint === 'SELECT inet_server_port() AS port'),
      'the reads of the test before',
    )
    assert.equal((await page.$eval('#statements', (e) => e.textContent)).includes('not-a-table'), false)

    cluster('stop-node', 'replica_1')
    await page.waitForSelector('[data-member="replica_1"][data-healthy="false"]', { timeout: 30_000 })
    assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'false' })
    await waitFor('the timeline to show replica_1 unhealthy', () => timeline('replica-unhealthy', 'replica_1'), 30_000)

    cluster('start-node', 'replica_1')
    await page.waitForSelector('[data-member="replica_1"][data-healthy="true"]', { timeout: 30_000 })
    await waitFor('the timeline to show replica_1 recovered', () => timeline('replica-recovered', 'replica_1'), 30_000)
    assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'true' })

    // The timeline is getRecentEvents(), newest first (the page lists the latest 50): replica_1
    // went out of the rotation, then came back.
    await waitFor('the timeline to be the manager’s recent events', async () => {
      const expected = manager
        .getRecentEvents()
        .slice(-50)
        .reverse()
        .map((e) => [e.type, e.node, e.time])
      return JSON.stringify(await timelineRows()) === JSON.stringify(expected)
    })
    const rows = await timelineRows()
    const health = rows.filter(([type, node]) => node === 'replica_1' && /^replica-(unhealthy|recovered)$/.test(type))
    assert.deepEqual(
      health.slice(0, 2).map(([type]) => type),
      ['replica-recovered', 'replica-unhealthy'],
      rows.map((r) => r.join(' ')).join('\n'),
    )
  } finally {
    running = false
    await load
    await replicaBack(manager)
  }

  // Before initialization the browser reports the 503 answers it polled; nothing else, ever.
  const unexpected = problems.filter(
    (p) => !(p.phase === 'before initialization' && /status of 503 \(Service Unavailable\)/.test(p.text)),
  )
  assert.deepEqual(unexpected, [], 'no console error, no page error')
})
