// Fault injection on the real cluster: hung, restarted, lagging, promoted and missing nodes.
// Every read must succeed; each fault is noticed and healed without a restart. Times to detect
// and recover are reported as diagnostics (bench figures, not assertions).

import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import {
  cluster,
  clusterStatus,
  configs,
  PRIMARY_PORT,
  REPLICA_PORTS,
  replicated,
  servedBy,
  waitFor,
} from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
const [PORT0, PORT1] = REPLICA_PORTS

after(async () => {
  await closeReadReplicaManager()
  // Leave the cluster as the other suites expect it: every node running, replicas replaying.
  try {
    cluster('resume-node', 'replica_1')
  } catch {}
  const status = clusterStatus()
  for (const name of ['primary', 'replica_0', 'replica_1']) {
    if (!status[name]?.running) cluster('start-node', name)
  }
})

/** Runs `sql` directly on one node with pg (a side channel the manager does not see). */
async function onNode(port, sql, values) {
  const client = new pg.Client({ ...primaryConfig, port, application_name: 'rrm-test-side-channel' })
  await client.connect()
  try {
    return (await client.query(sql, values)).rows
  } finally {
    await client.end()
  }
}

/** Connections the manager holds on a node, as the server sees them. */
async function managerBackends(port) {
  const rows = await onNode(
    port,
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'read-replica-manager'",
  )
  return rows[0].n
}

/** A steady read load of `workers` concurrent readers; returns a handle to stop it. */
function readLoad(manager, workers = 6) {
  const load = { running: true, served: [], failures: [] }
  load.done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (load.running) {
        try {
          load.served.push(await servedBy(manager))
        } catch (err) {
          load.failures.push(err)
        }
      }
    }),
  )
  load.stop = async () => {
    load.running = false
    await load.done
    return load
  }
  return load
}

const elapsed = (since) => `${Date.now() - since} ms`

test('a hung replica (SIGSTOP): reads time out onto the primary, the replica is ejected, then heals', {
  timeout: 120_000,
}, async (t) => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    healthCheckTimeout: 1000,
    replicaReadTimeout: 1000,
  })
  const load = readLoad(manager)
  try {
    await waitFor('reads on both replicas', () => load.served.includes(PORT0) && load.served.includes(PORT1))
    const checkedBefore = manager.getReplicaStatus().replica_0.lastHealthCheck
    const paused = Date.now()
    cluster('pause-node', 'replica_1')
    await waitFor('replica_1 ejected', () => manager.getReplicaStatus().replica_1.healthy === false)
    t.diagnostic(`hung replica detected in ${elapsed(paused)}`)
    // The other replica's checks keep running while replica_1 hangs.
    const checks = new Set([checkedBefore])
    await waitFor('replica_0 checked several times', () => {
      checks.add(manager.getReplicaStatus().replica_0.lastHealthCheck)
      return checks.size >= 4
    })
    assert.equal(manager.getReplicaStatus().replica_0.healthy, true)
    // Reads that finished before the ejection may still be settling: count from later ones.
    const ejectedAt = load.served.length
    await waitFor('reads issued after the ejection', () => load.served.length > ejectedAt + 12)
    const mark = load.served.length
    await waitFor('reads after the ejection', () => load.served.length > mark + 100)
    assert.ok(!load.served.slice(mark).includes(PORT1))

    const resumed = Date.now()
    cluster('resume-node', 'replica_1')
    await waitFor('replica_1 back', () => manager.getReplicaStatus().replica_1.healthy === true)
    const back = load.served.length
    await waitFor('reads on replica_1 again', () => load.served.slice(back).includes(PORT1))
    t.diagnostic(`hung replica back in rotation ${elapsed(resumed)} after SIGCONT`)
  } finally {
    cluster('resume-node', 'replica_1')
    await load.stop()
    await closeReadReplicaManager()
  }
  assert.deepEqual(load.failures.map(String), [], 'no read failed')
  assert.ok(manager.getMetrics().replicaFailovers >= 1)
})

test('a killed replica is ejected by failing queries alone, long before a health check', {
  timeout: 60_000,
}, async (t) => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 3_600_000, // no check will run during the test
  })
  const load = readLoad(manager)
  try {
    await waitFor('reads on both replicas', () => load.served.includes(PORT0) && load.served.includes(PORT1))
    const killed = Date.now()
    cluster('stop-node', 'replica_1')
    await waitFor('replica_1 ejected', () => manager.getReplicaStatus().replica_1.healthy === false)
    t.diagnostic(`killed replica ejected by queries in ${elapsed(killed)}`)
    assert.equal(manager.getMetrics().healthCheckFailures, 0, 'no health check was involved')
    assert.ok(manager.getReplicaStatus().replica_1.failureCount >= 3)
  } finally {
    await load.stop()
    cluster('start-node', 'replica_1')
    await closeReadReplicaManager()
  }
  assert.deepEqual(load.failures.map(String), [], 'no read failed')
})

test('broken pooled connections (restarted replica, terminated backends) never reach the caller', {
  timeout: 60_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 3_600_000 })
  try {
    // Fill the pools with connections, then break them behind the manager's back.
    await Promise.all(Array.from({ length: 20 }, () => servedBy(manager)))
    cluster('stop-node', 'replica_0')
    cluster('start-node', 'replica_0')
    for (const port of [PRIMARY_PORT, ...REPLICA_PORTS]) {
      await onNode(
        port,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'read-replica-manager'",
      )
    }
    const served = []
    for (let i = 0; i < 40; i++) served.push(await servedBy(manager))
    assert.ok(served.every((p) => p === PRIMARY_PORT || REPLICA_PORTS.includes(p)))
    // A read sent to the primary after its backends were terminated gets a fresh connection.
    for (let i = 0; i < 5; i++) assert.equal(await servedBy(manager, { route: 'primary' }), PRIMARY_PORT)
    // Both replicas still serve reads: stale connections did not eject them.
    const status = manager.getReplicaStatus()
    assert.equal(status.replica_0.healthy, true)
    assert.equal(status.replica_1.healthy, true)
  } finally {
    await closeReadReplicaManager()
  }
})

test('replication lag: a replica with paused replay is skipped for reads until it catches up', {
  timeout: 60_000,
}, async (t) => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    maxReplicationLagBytes: 256 * 1024,
  })
  await manager.query('CREATE TABLE IF NOT EXISTS rrm_lag (id serial, pad text)')
  await replicated(manager) // so replica_1 has replayed a transaction and can date its lag
  await onNode(PORT1, 'SELECT pg_wal_replay_pause()')
  try {
    const paused = Date.now()
    // About 1 MB of WAL that replica_1 will not replay while paused.
    await manager.query("INSERT INTO rrm_lag (pad) SELECT repeat('x', 1000) FROM generate_series(1, 1000)")
    await waitFor('replica_1 lagging and replica_0 caught up', () => {
      const s = manager.getReplicaStatus()
      return s.replica_1.lagging && s.replica_0.eligible
    })
    const lagging = manager.getReplicaStatus().replica_1
    t.diagnostic(
      `lag detected in ${elapsed(paused)} (${lagging.replicationLagBytes} bytes, ${lagging.replicationLagMs} ms)`,
    )
    assert.equal(lagging.healthy, true, 'lagging is reported apart from unhealthy')
    assert.equal(lagging.eligible, false)
    assert.ok(lagging.replicationLagBytes > 256 * 1024)
    assert.equal(typeof lagging.replicationLagMs, 'number')
    for (let i = 0; i < 20; i++) assert.equal(await servedBy(manager), PORT0)
  } finally {
    await onNode(PORT1, 'SELECT pg_wal_replay_resume()')
  }
  const resumed = Date.now()
  await waitFor('replica_1 caught up', () => manager.getReplicaStatus().replica_1.eligible === true)
  t.diagnostic(`caught-up replica back ${elapsed(resumed)} after replay resumed`)
  const served = []
  for (let i = 0; i < 10; i++) served.push(await servedBy(manager))
  assert.ok(served.includes(PORT1))
  await manager.query('DROP TABLE rrm_lag')
  await closeReadReplicaManager()
})

test('all replicas down: reads go to the primary as failovers, and move back when they return', {
  timeout: 60_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 200 })
  try {
    cluster('stop-node', 'replica_0')
    cluster('stop-node', 'replica_1')
    await waitFor('both ejected', () => Object.values(manager.getReplicaStatus()).every((s) => !s.healthy))
    const before = manager.getMetrics().replicaFailovers
    for (let i = 0; i < 5; i++) assert.equal(await servedBy(manager), PRIMARY_PORT)
    assert.equal(manager.getMetrics().replicaFailovers, before + 5)
  } finally {
    cluster('start-node', 'replica_0')
    cluster('start-node', 'replica_1')
  }
  await waitFor('both back', () => Object.values(manager.getReplicaStatus()).every((s) => s.healthy))
  const served = []
  for (let i = 0; i < 10; i++) served.push(await servedBy(manager))
  assert.ok(served.every((p) => REPLICA_PORTS.includes(p)))
  await closeReadReplicaManager()
})

test('roles: with every member a standby, reads go on and writes wait for a primary, then fail clearly', {
  timeout: 30_000,
}, async () => {
  const standbyAsPrimary = { ...primaryConfig, port: PORT0 }
  const events = []
  const manager = await initializeReadReplicaManager(standbyAsPrimary, [replicaConfigs[1]], {
    connectionTimeoutMillis: 1000,
    onEvent: (e) => events.push(e),
  })
  try {
    const metrics = manager.getMetrics()
    assert.deepEqual(metrics.primary, {
      name: null,
      host: null,
      port: null,
      database: null,
      reachable: false,
      role: null,
      lastHealthCheck: null,
      timeline: null,
      queries: null,
      pipelined: null,
    })
    // The member configured as primary is a standby: it serves reads like the replica.
    const status = manager.getReplicaStatus()
    assert.deepEqual(
      Object.entries(status).map(([key, s]) => [key, s.role, s.eligible]),
      [
        ['primary', 'replica', true],
        ['replica_0', 'replica', true],
      ],
    )
    assert.ok(events.some((e) => e.type === 'primary-unreachable'))
    const served = new Set()
    for (let i = 0; i < 10; i++) served.add(await servedBy(manager))
    assert.deepEqual([...served].sort(), [PORT0, PORT1].sort())
    const err = await manager.query('CREATE TABLE rrm_never (a int)').catch((e) => e)
    assert.equal(err.code, 'ERR_RRM_NO_PRIMARY')
    assert.match(err.message, /no member was primary for \d+ ms/)
    assert.match(err.message, /primary \(127\.0\.0\.1:\d+\): standby; replica_0 \(127\.0\.0\.1:\d+\): standby/)
    assert.equal(manager.getMetrics().replicaFailovers, 0, 'waiting for a primary is no failover')
  } finally {
    await closeReadReplicaManager()
  }
})

test('roles: split brain (a replica promoted while the primary runs) — the higher timeline takes the writes, the other serves nothing', {
  timeout: 90_000,
}, async () => {
  const events = []
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    onEvent: (e) => events.push(e),
  })
  try {
    cluster('promote-node', 'replica_1')
    await waitFor('replica_1 elected on its new timeline', () => manager.getMetrics().primary.name === 'replica_1')
    const metrics = manager.getMetrics()
    assert.equal(metrics.primary.port, PORT1)
    assert.ok(metrics.primary.timeline >= 2)
    const status = manager.getReplicaStatus()
    assert.equal(status.replica_1.role, 'primary')
    assert.equal(status.replica_1.eligible, false)
    assert.equal(status.primary.role, 'primary', 'the old primary still says it is one')
    assert.equal(status.primary.fenced, true)
    assert.equal(status.primary.eligible, false)
    // Told once a check made after the fencing still finds the old primary claiming the role.
    await waitFor('split brain confirmed', () =>
      events.some((e) => e.type === 'split-brain' && /timeline/.test(e.message)),
    )
    assert.ok(events.some((e) => e.type === 'primary-changed'))
    // Writes go to the promoted member; reads to the one standby left, never to a primary.
    const { rows } = await manager.query("SELECT current_setting('port')::int AS port", [], { route: 'primary' })
    assert.equal(rows[0].port, PORT1)
    for (let i = 0; i < 10; i++) assert.equal(await servedBy(manager), PORT0)
  } finally {
    await closeReadReplicaManager()
    cluster('rebuild-node', 'replica_1')
  }
})

test('no leaks: connections return to baseline after faults, 10,000 client cycles and 10,000 failed queries', {
  timeout: 120_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 5 })
  try {
    for (let i = 0; i < 10_000; i++) {
      const client = await manager.getClient(i % 2 ? 'read' : 'write')
      if (i % 100 === 0) await client.query('SELECT 1')
      client.release()
    }
    for (let i = 0; i < 10_000; i++) {
      await manager.query('SELECT * FROM rrm_no_such_table').catch(() => {})
    }
    const counts = await Promise.all([PRIMARY_PORT, ...REPLICA_PORTS].map(managerBackends))
    // One pool of at most 5 per node, plus each node's health-check connection.
    for (const n of counts) assert.ok(n <= 6, `connections per node: ${counts}`)
  } finally {
    await closeReadReplicaManager()
  }
  await waitFor('every connection closed', async () => {
    const counts = await Promise.all([PRIMARY_PORT, ...REPLICA_PORTS].map(managerBackends))
    return counts.every((n) => n === 0)
  })
})
