// Member configs as node-postgres takes them: `password` as a function (sync or async) called for
// each new connection of its member. node-postgres itself is the oracle wherever it defines the
// behaviour.

import assert from 'node:assert/strict'
import { after, afterEach, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PASSWORD, PRIMARY_PORT, REPLICA_PORTS, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
/** Names this run's connections in pg_stat_activity. */
const APP = `rrm-pgconfig-${process.pid}`
/** No background checks unless a test asks: only the tests' own queries open connections. */
const QUIET = { healthCheckInterval: 3_600_000 }

// Whatever a password function does, nothing may escape into the process.
const escaped = []
const noteEscape = (err) => escaped.push(err)
process.on('uncaughtException', noteEscape)
process.on('unhandledRejection', noteEscape)

afterEach(() => closeReadReplicaManager())
after(() => {
  process.off('uncaughtException', noteEscape)
  process.off('unhandledRejection', noteEscape)
  assert.deepEqual(escaped, [], 'no uncaught exception or unhandled rejection')
})

/** Runs `sql` on the server at `port` through node-postgres, outside the manager. */
async function direct(port, sql, values) {
  const client = new pg.Client({ ...primaryConfig, port, application_name: 'rrm-pgconfig-observer' })
  await client.connect()
  try {
    return (await client.query(sql, values)).rows
  } finally {
    await client.end()
  }
}

/** How many connections named `name` the server at `port` has open. */
async function connectionsNamed(port, name) {
  const rows = await direct(port, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])
  return rows[0].n
}

/** What node-postgres's own connect does with `config`: its error, or null. */
async function pgConnect(config) {
  const client = new pg.Client(config)
  try {
    await client.connect()
    await client.end()
    return null
  } catch (err) {
    // pg leaves the socket open when the password function fails (until the server's
    // authentication_timeout); close it, so that it does not keep this process alive.
    client.connection.stream.destroy()
    return err
  }
}

/** Everything the manager reports, as text: none of it may hold a password. */
function reported(manager, events = []) {
  return [
    JSON.stringify(manager.getReplicaStatus()),
    JSON.stringify(manager.getMetrics()),
    manager.getPrometheusMetrics(),
    ...events.map((e) => JSON.stringify(e)),
  ].join('\n')
}

const parallel = (manager, n, sql, options) =>
  Promise.all(Array.from({ length: n }, () => manager.query(sql, [], options)))

test('an async password function is called once for each new connection, as pg calls it', async () => {
  const name = `${APP}-async`
  const calls = []
  const password = async (params) => {
    calls.push(params)
    await sleep(5)
    return PASSWORD
  }
  const manager = await initializeReadReplicaManager({ ...primaryConfig, password, application_name: name }, [], {
    ...QUIET,
    max: 3,
  })
  assert.equal(calls.length, 1, "the health checker's own connection")
  await parallel(manager, 3, 'SELECT pg_sleep(0.2)')
  assert.equal(calls.length, 4, 'three pool connections opened at once, one call each')
  for (let i = 0; i < 5; i++) await manager.query('SELECT 1')
  assert.equal(calls.length, 4, 'pooled connections are not asked again')
  const client = await manager.getClient('write')
  client.release(new Error('discard this connection'))
  await parallel(manager, 3, 'SELECT pg_sleep(0.2)')
  assert.equal(calls.length, 5, 'the one connection opened to replace it')
  // Every connection the function was called for, open or closed, and no other.
  await waitFor('the discarded connection to close', async () => (await connectionsNamed(PRIMARY_PORT, name)) === 4)
  assert.equal(calls.length, (await connectionsNamed(PRIMARY_PORT, name)) + 1)

  // pg's own pool calls it once per connection too, with the same connection parameters.
  const pgCalls = []
  const pool = new pg.Pool({
    ...primaryConfig,
    max: 3,
    password: async (params) => {
      pgCalls.push(params)
      return PASSWORD
    },
  })
  await Promise.all([1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.2)')))
  await pool.end()
  assert.equal(pgCalls.length, 3)
  const pick = ({ host, port, database, user }) => ({ host, port, database, user })
  for (const params of calls) assert.deepEqual(params, pick(pgCalls[0]))
})

test('a sync password function works for replicas, and its member stays healthy', async () => {
  let calls = 0
  const password = () => {
    calls++
    return PASSWORD
  }
  const manager = await initializeReadReplicaManager(
    primaryConfig,
    replicaConfigs.map((r) => ({ ...r, password })),
    QUIET,
  )
  const ports = new Set()
  for (let i = 0; i < 6; i++) {
    const { rows } = await manager.query('SELECT inet_server_port() AS port')
    ports.add(rows[0].port)
  }
  assert.deepEqual([...ports].sort(), [...REPLICA_PORTS].sort(), 'reads ran on both replicas')
  assert.ok(calls >= 4, `a checker and a pool connection per replica: ${calls} calls`)
  for (const status of Object.values(manager.getReplicaStatus())) assert.equal(status.healthy, true)
  assert.equal(manager.getMetrics().replicaFailovers, 0)
})

test('a function that throws, rejects or returns no string: its member is unhealthy, reads go on, pg says the same', async () => {
  const failing = [
    () => {
      throw new Error('vault unreachable')
    },
    async () => Promise.reject(new Error('token expired')),
    async () => 42,
  ]
  const events = []
  const manager = await initializeReadReplicaManager(
    primaryConfig,
    failing.map((password, i) => ({ ...replicaConfigs[i % replicaConfigs.length], password })),
    { ...QUIET, failureThreshold: 1, onEvent: (e) => events.push(e) },
  )
  const status = manager.getReplicaStatus()
  const expected = []
  for (const [i, password] of failing.entries()) {
    const key = `replica_${i}`
    assert.equal(status[key].healthy, false, key)
    assert.ok(status[key].failureCount >= 1, key)
    // node-postgres's connect fails with the function's error, or 'Password must be a string'.
    const pgError = await pgConnect({ ...replicaConfigs[i % replicaConfigs.length], password })
    assert.ok(pgError instanceof Error, `pg rejects too (${key})`)
    const address = `127.0.0.1:${REPLICA_PORTS[i % REPLICA_PORTS.length]}`
    expected.push(`password function for ${key} (${address}) failed: ${pgError.message}`)
  }
  assert.deepEqual(
    expected.map((e) => e.replace(/.*failed: /, '')),
    ['vault unreachable', 'token expired', 'Password must be a string'],
  )
  for (const [i, message] of expected.entries()) {
    const event = events.find((e) => e.type === 'replica-unhealthy' && e.node === `replica_${i}`)
    assert.ok(event, `replica_${i} reported unhealthy`)
    assert.ok(event.message.includes(message), event.message)
  }
  assert.ok(manager.getMetrics().healthCheckFailures >= 3)
  // Reads go on, on the primary.
  const { rows } = await manager.query('SELECT inet_server_port() AS port')
  assert.equal(rows[0].port, PRIMARY_PORT)
  assert.ok(!reported(manager, events).includes(PASSWORD), 'no password in status, metrics or events')
})

test("a read whose replica's password function fails runs on the primary, and counts against the replica", async () => {
  let calls = 0
  const password = () => {
    calls++
    if (calls === 1) return PASSWORD // the first health check passes
    throw new Error('token service down')
  }
  const events = []
  const manager = await initializeReadReplicaManager(primaryConfig, [{ ...replicaConfigs[0], password }], {
    ...QUIET,
    onEvent: (e) => events.push(e),
  })
  assert.equal(manager.getReplicaStatus().replica_0.healthy, true)
  const { rows } = await manager.query('SELECT inet_server_port() AS port')
  assert.equal(rows[0].port, PRIMARY_PORT, 'failed over to the primary')
  assert.equal(calls, 2)
  const metrics = manager.getMetrics()
  assert.equal(metrics.replicaFailovers, 1)
  assert.equal(manager.getReplicaStatus().replica_0.failureCount, 1)
  const failover = events.find((e) => e.type === 'failover')
  assert.match(
    failover.message,
    /password function for replica_0 \(127\.0\.0\.1:\d+\) failed: token service down$/,
    failover.message,
  )
  assert.ok(!reported(manager, events).includes(PASSWORD))
})

test("a primary whose password function fails: queries and clients reject at once with the function's message", async () => {
  const started = Date.now()
  const manager = await initializeReadReplicaManager(
    { ...primaryConfig, password: () => Promise.reject(new Error('no token for the primary')) },
    [],
    { ...QUIET, healthCheckTimeout: 1000, connectionTimeoutMillis: 5000 },
  )
  const rejected = (err) => {
    assert.equal(err.code, 'ERR_RRM_PASSWORD')
    assert.equal(
      err.message,
      `password function for primary (127.0.0.1:${PRIMARY_PORT}) failed: no token for the primary`,
    )
    return true
  }
  await assert.rejects(manager.query('SELECT 1'), rejected)
  await assert.rejects(manager.query('INSERT INTO rrm_nowhere VALUES (1)'), rejected)
  await assert.rejects(manager.getClient('write'), rejected)
  assert.ok(Date.now() - started < 4000, 'without waiting out connectionTimeoutMillis')
})

test('a password function that never answers fails the connection at the connect timeout', async () => {
  const manager = await initializeReadReplicaManager(
    { ...primaryConfig, password: () => new Promise(() => {}) },
    [{ ...replicaConfigs[0], password: () => new Promise(() => {}) }],
    { ...QUIET, healthCheckTimeout: 300, connectionTimeoutMillis: 300 },
  )
  assert.equal(manager.getReplicaStatus().replica_0.healthy, false)
  await assert.rejects(manager.query('SELECT 1'), (err) => {
    assert.equal(err.code, 'ERR_RRM_PASSWORD')
    assert.match(err.message, /^password function for primary \(127\.0\.0\.1:\d+\) failed: no answer within 300 ms$/)
    return true
  })
})
