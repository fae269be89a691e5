// A replica stopped (immediate shutdown) while reads are running: no read fails, the replica is
// ejected, and it returns to the rotation after a restart.

import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { cluster, clusterStatus, configs, PRIMARY_PORT, REPLICA_PORTS, servedBy, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()

after(async () => {
  if (!clusterStatus().replica_1.running) cluster('start-node', 'replica_1')
  await closeReadReplicaManager()
})

test('a replica killed under concurrent reads: zero failed reads, ejected, back after restart', {
  timeout: 120_000,
}, async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    healthCheckInterval: 200,
    healthCheckTimeout: 1000,
    connectionTimeoutMillis: 2000,
  })
  const [port0, port1] = REPLICA_PORTS

  // Steady read load: 8 workers, each read recording the server that answered it.
  let running = true
  const failures = []
  const served = []
  const workers = Array.from({ length: 8 }, async () => {
    while (running) {
      try {
        served.push(await servedBy(manager))
      } catch (err) {
        failures.push(err)
      }
    }
  })

  try {
    await waitFor('reads on both replicas', () => served.includes(port0) && served.includes(port1))
    cluster('stop-node', 'replica_1')

    await waitFor('replica_1 to be ejected', () => manager.getReplicaStatus().replica_1.healthy === false)
    const status = manager.getReplicaStatus()
    assert.ok(status.replica_1.failureCount >= 3, `failureCount ${status.replica_1.failureCount}`)
    assert.equal(status.replica_0.healthy, true)
    assert.ok(manager.getMetrics().replicaFailovers >= 1)

    // While ejected, replica_1 gets no traffic: reads land on replica_0 (or the primary). Reads
    // that finished before the ejection may still be settling, so count from two reads per
    // worker later.
    const ejectedAt = served.length
    await waitFor('reads issued after the ejection', () => served.length > ejectedAt + 16)
    const mark = served.length
    await waitFor('more reads', () => served.length > mark + 200)
    assert.ok(!served.slice(mark).includes(port1))
    assert.ok(served.slice(mark).every((p) => p === port0 || p === PRIMARY_PORT))

    cluster('start-node', 'replica_1')
    await waitFor('replica_1 to recover', () => manager.getReplicaStatus().replica_1.healthy === true)
    assert.equal(manager.getReplicaStatus().replica_1.failureCount, 0)
    const back = served.length
    await waitFor('reads on replica_1 again', () => served.slice(back).includes(port1))
  } finally {
    running = false
    await Promise.all(workers)
  }

  assert.deepEqual(failures.map(String), [], 'no read failed')
  assert.ok(manager.getMetrics().healthCheckFailures >= 1)
})

test('the primary down: a write waits connectionTimeoutMillis for a primary, then rejects with the connection code', {
  timeout: 60_000,
}, async () => {
  await closeReadReplicaManager()
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { connectionTimeoutMillis: 2000 })
  cluster('stop-node', 'primary')
  try {
    const before = manager.getMetrics()
    const err = await manager.query('CREATE TABLE rrm_never (a int)').catch((e) => e)
    assert.ok(err instanceof Error)
    assert.match(err.code, /^(ECONNREFUSED|ECONNRESET|57P0[123]|08\w\w|ERR_RRM_OUTCOME_UNKNOWN)$/)
    assert.equal(manager.getMetrics().replicaFailovers, before.replicaFailovers)
    // Reads keep working on the replicas.
    assert.ok(REPLICA_PORTS.includes(await servedBy(manager)))
  } finally {
    cluster('start-node', 'primary')
  }
  await waitFor(
    'primary back',
    async () => (await servedBy(manager, { route: 'primary' }).catch(() => 0)) === PRIMARY_PORT,
  )
})
