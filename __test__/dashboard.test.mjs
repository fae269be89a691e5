// The dashboard (dashboardHandler()): its JSON over node:http, and its page in a real headless
// Chromium (Debian's, driven by puppeteer-core) under Express — no console error, a card per
// member, and a replica stopped and started again seen on its card and on the timeline.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'
import express from 'express'
import puppeteer from 'puppeteer-core'
import { closeReadReplicaManager, dashboardHandler, initializeReadReplicaManager } from 'read-replica-manager'
import { cluster, clusterStatus, configs, PASSWORD, REPLICA_PORTS, servedBy, waitFor } from './helpers.mjs'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const { primaryConfig, replicaConfigs } = configs()

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

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`)
  plainUrl = await listen(plain)
  pageUrl = `${await listen(mounted)}/dashboard`
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: no user namespaces for the sandbox, and a small /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  })
  page = await browser.newPage()
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') problems.push({ phase, text: msg.text() })
  })
  page.on('pageerror', (err) => problems.push({ phase, text: `pageerror: ${err.message}` }))
})

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

test('JSON: members, metrics, history, events, statements — and no password', { timeout: 30_000 }, async () => {
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
  for (const key of ['generatedAt', 'members', 'metrics', 'history', 'events', 'statements']) {
    assert.ok(key in data, key)
  }
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
    for (const key of ['responseTime', 'failureCount', 'lastHealthCheck', 'queries']) assert.ok(key in m)
  }
  assert.equal(data.metrics.readQueries, manager.getMetrics().readQueries)
  assert.equal('replicaStatus' in data.metrics, false)
  assert.ok(data.history.length >= 1)
  assert.deepEqual(Object.keys(data.history[0].members).sort(), ['primary', 'replica_0', 'replica_1'])
  assert.ok(Array.isArray(data.events))
  assert.ok(Array.isArray(data.statements))

  // What the addon adds when it has them; until then, reported as unknown.
  if (typeof manager.getQueryStats === 'function') {
    assert.equal(data.sources.statements, 'getQueryStats')
    assert.ok(data.statements.length > 0 && data.statements.length <= 10)
    assert.ok(data.statements.some((s) => /inet_server_port/.test(s.fingerprint)))
  } else {
    assert.equal(data.sources.statements, null)
    assert.deepEqual(data.statements, [])
  }
  assert.equal(data.sources.events, typeof manager.getRecentEvents === 'function' ? 'getRecentEvents' : 'inferred')
  if ('queries' in (manager.getReplicaStatus().replica_0 ?? {})) {
    assert.ok(data.members.every((m) => typeof m.queries === 'number'))
  } else {
    assert.ok(data.members.every((m) => m.queries === null))
  }

  // The page picks the manager up by itself.
  await page.waitForFunction(() => document.querySelectorAll('[data-member]').length === 3, { timeout: 10_000 })
  assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'true' })
  assert.equal(await page.$eval('#status', (e) => e.textContent), 'live')
})

test('the page: a stopped replica turns its card unhealthy and onto the timeline, then back', {
  timeout: 90_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  // Some traffic, so the rates have something to draw and a read fails over.
  let running = true
  const load = (async () => {
    while (running) {
      await servedBy(manager).catch(() => {})
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  try {
    cluster('stop-node', 'replica_1')
    await page.waitForSelector('[data-member="replica_1"][data-healthy="false"]', { timeout: 30_000 })
    assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'false' })
    await waitFor('the timeline to show replica_1 unhealthy', () => timeline('replica-unhealthy', 'replica_1'), 30_000)

    cluster('start-node', 'replica_1')
    await page.waitForSelector('[data-member="replica_1"][data-healthy="true"]', { timeout: 30_000 })
    await waitFor('the timeline to show replica_1 recovered', () => timeline('replica-recovered', 'replica_1'), 30_000)
    assert.deepEqual(await cards(), { primary: 'true', replica_0: 'true', replica_1: 'true' })
    await waitFor('reads on replica_1 again', async () => (await servedBy(manager)) === REPLICA_PORTS[1], 30_000, 10)
  } finally {
    running = false
    await load
    if (!clusterStatus().replica_1.running) cluster('start-node', 'replica_1')
  }

  // Before initialization the browser reports the 503 answers it polled; nothing else, ever.
  const unexpected = problems.filter(
    (p) => !(p.phase === 'before initialization' && /status of 503 \(Service Unavailable\)/.test(p.text)),
  )
  assert.deepEqual(unexpected, [], 'no console error, no page error')
})
