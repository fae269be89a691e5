// Member configs as node-postgres takes them: `password` as a function (sync or async) called for
// each new connection of its member, pg's server-side timeouts, `options` and application_name
// sent at startup, and pg's pool and client keys accepted. node-postgres itself is the oracle
// wherever it defines the behaviour.

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

test('statement_timeout, lock_timeout, idle_in_transaction_session_timeout and options are startup settings, as pg sends them', async () => {
  const settings = {
    statement_timeout: 200,
    lock_timeout: '250',
    idle_in_transaction_session_timeout: 60_000,
    options: '-c search_path=pg_catalog,public',
  }
  const manager = await initializeReadReplicaManager(
    { ...primaryConfig, ...settings, application_name: `${APP}-primary` },
    replicaConfigs.map((r, i) => ({ ...r, ...settings, application_name: `${APP}-replica-${i}` })),
    QUIET,
  )
  const show =
    "SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('lock_timeout') AS lock_timeout, " +
    "current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('search_path') AS search_path"
  const oracle = new pg.Client({ ...primaryConfig, ...settings })
  await oracle.connect()
  const expected = (await oracle.query(show)).rows[0]
  await oracle.end()
  assert.deepEqual(expected, {
    statement_timeout: '200ms',
    lock_timeout: '250ms',
    idle: '1min',
    search_path: 'pg_catalog,public',
  })
  assert.deepEqual((await manager.query(show)).rows[0], expected, 'on a replica')
  assert.deepEqual((await manager.query(show, [], { route: 'primary' })).rows[0], expected, 'on the primary')

  // A statement over the limit is cancelled by the server: 57014, on replicas and on the primary,
  // returned as is (no failover).
  for (const options of [undefined, { route: 'primary' }]) {
    await assert.rejects(manager.query('SELECT pg_sleep(1)', [], options), (err) => {
      assert.equal(err.code, '57014')
      assert.match(err.message, /statement timeout/)
      return true
    })
  }
  assert.equal(manager.getMetrics().replicaFailovers, 0)

  // application_name names each member's connections in pg_stat_activity.
  assert.ok((await connectionsNamed(PRIMARY_PORT, `${APP}-primary`)) >= 1)
  for (const [i, port] of REPLICA_PORTS.entries()) {
    assert.ok((await connectionsNamed(port, `${APP}-replica-${i}`)) >= 1, `replica_${i}`)
  }
  const { rows } = await manager.query(
    'SELECT application_name AS name, inet_server_port() AS port FROM pg_stat_activity WHERE pid = pg_backend_pid()',
  )
  assert.equal(rows[0].name, `${APP}-replica-${REPLICA_PORTS.indexOf(rows[0].port)}`)
})

test("pg's pool and client keys are accepted in member configs; bad values name the key and the member", async () => {
  const poolKeys = {
    max: 20,
    min: 0,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
    maxUses: 7_500,
    maxLifetimeSeconds: 60,
    query_timeout: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    fallback_application_name: 'fallback',
    types: pg.types,
    Client: pg.Client,
    Promise,
    log: () => {},
  }
  const manager = await initializeReadReplicaManager(
    // A config built on pg.defaults, as some applications build theirs.
    { ...pg.defaults, ...primaryConfig, ...poolKeys },
    replicaConfigs.map((r) => ({ ...r, ...poolKeys })),
    QUIET,
  )
  assert.equal((await manager.query('SELECT 1 AS one')).rows[0].one, 1)
  assert.equal((await manager.query('SELECT 1 AS one', [], { route: 'primary' })).rows[0].one, 1)
  await closeReadReplicaManager()

  const rejects = async (primary, replicas, pattern) => {
    await assert.rejects(initializeReadReplicaManager(primary, replicas, QUIET), (err) => {
      assert.ok(err instanceof TypeError, err.message)
      assert.equal(err.code, 'ERR_RRM_CONFIG')
      assert.match(err.message, pattern)
      assert.ok(!err.message.includes(PASSWORD), 'no password in the message')
      return true
    })
  }
  const replica = (extra) => [replicaConfigs[0], { ...replicaConfigs[1], ...extra }]
  await rejects(
    primaryConfig,
    replica({ max: '20' }),
    /^replicaConfigs\[1\]\.max must be a number ≥ 0, got the string "20"$/,
  )
  await rejects(
    primaryConfig,
    replica({ allowExitOnIdle: 'yes' }),
    /^replicaConfigs\[1\]\.allowExitOnIdle must be a boolean/,
  )
  await rejects(
    primaryConfig,
    replica({ statement_timeout: 'soon' }),
    /^replicaConfigs\[1\]\.statement_timeout must be a number of milliseconds/,
  )
  await rejects(primaryConfig, replica({ types: {} }), /^replicaConfigs\[1\]\.types must be a type parser set/)
  await rejects(
    primaryConfig,
    replica({ binary: true }),
    /^replicaConfigs\[1\]\.binary is a node-postgres setting read-replica-manager does not support/,
  )
  await rejects(
    { ...primaryConfig, stattement_timeout: 5 },
    [],
    /^primaryConfig\.stattement_timeout is not a known connection setting/,
  )
  await rejects(
    { ...primaryConfig, password: 987_654_321 },
    [],
    /^primaryConfig\.password must be a string, or a function/,
  )
  await rejects({ ...primaryConfig, password: 987_654_321 }, [], /^(?!.*987654321)/)
})
