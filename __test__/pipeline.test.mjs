// Pipelining (pipelineDepth): while a pool has no idle connection, plain statements share busy
// connections. Each statement keeps the failure semantics of a connection of its own: an error
// fails only its statement, a broken shared connection retries its reads and leaves its writes'
// outcome unknown, a timed-out read fails over without canceling its neighbours, and a caller
// waiting for a connection of its own (getClient) is not starved by lanes that never empty.
// Pools of one connection per node force every concurrent statement onto one lane.

import assert from 'node:assert/strict'
import { afterEach, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PRIMARY_PORT, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()

afterEach(() => closeReadReplicaManager())

/** Statements that shared a busy connection, over every member. */
function pipelined(manager) {
  const metrics = manager.getMetrics()
  return Object.values(metrics.replicaStatus).reduce((n, s) => n + s.pipelined, metrics.primary.pipelined ?? 0)
}

/** Runs `sql` on the primary with pg, beside the manager. */
async function sideChannel() {
  const client = new pg.Client({ ...primaryConfig, port: PRIMARY_PORT, application_name: 'rrm-test-side-channel' })
  await client.connect()
  return client
}

test('one statement failing on a shared connection fails alone; depth 1 shares nothing', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1 })
  const texts = Array.from({ length: 50 }, (_, i) => (i === 25 ? 'SELECT 1/0 AS n' : 'SELECT $1::int AS n'))
  const settled = await Promise.allSettled(texts.map((text, i) => manager.query(text, text.includes('$1') ? [i] : [])))
  const rejected = settled.filter((s) => s.status === 'rejected')
  assert.equal(rejected.length, 1)
  assert.equal(rejected[0].reason.code, '22012')
  assert.equal(settled[25].status, 'rejected')
  settled.forEach((s, i) => {
    if (i !== 25) assert.equal(s.value.rows[0].n, i)
  })
  assert.ok(pipelined(manager) > 0, 'some statements shared a connection')
  await closeReadReplicaManager()

  const unshared = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1, pipelineDepth: 1 })
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => unshared.query('SELECT $1::int AS n', [i])))
  assert.deepEqual(
    results.map((r) => r.rows[0].n),
    Array.from({ length: 50 }, (_, i) => i),
  )
  assert.equal(pipelined(unshared), 0)
})

test('a shared connection that breaks: its reads are retried and resolve, its writes are ok or outcome-unknown', async (t) => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1 })
  await manager.query('DROP TABLE IF EXISTS rrm_pipeline_writes')
  await manager.query('CREATE TABLE rrm_pipeline_writes (n int)')
  const side = await sideChannel()
  try {
    // Each text prepared once first: then nothing waits for a Parse round trip and the
    // statements reach the server in the order they were issued.
    const BLOCKER = 'SELECT pg_advisory_xact_lock(4242), 0 AS n'
    const READ = 'SELECT $1::int AS n'
    const WRITE = 'INSERT INTO rrm_pipeline_writes VALUES ($1)'
    await manager.query(BLOCKER)
    await manager.query(READ, [0], { route: 'primary' })
    await manager.query(WRITE, [-1])
    await manager.query('DELETE FROM rrm_pipeline_writes')
    // The statement on the primary's only connection blocks on a lock the side channel holds;
    // the ones after it queue on the same connection, reads and writes in turn.
    await side.query('SELECT pg_advisory_lock(4242)')
    // Settled from the start: some reject while the test is still arranging the fault.
    const blocker = Promise.allSettled([manager.query(BLOCKER)])
    const readPromises = []
    const writePromises = []
    for (let i = 0; i < 7; i++) {
      readPromises.push(manager.query(READ, [i], { route: 'primary' }))
      writePromises.push(manager.query(WRITE, [i]))
    }
    const reads = Promise.allSettled(readPromises)
    const writes = Promise.allSettled(writePromises)
    await waitFor('statements queued behind the blocked one', () => manager.getMetrics().primary.pipelined > 0)
    await waitFor('the blocked statement waiting for its lock', async () => {
      const { rows } = await side.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'read-replica-manager' AND wait_event_type = 'Lock'",
      )
      return rows[0].n === 1
    })
    await side.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'read-replica-manager' AND wait_event_type = 'Lock'",
    )
    await side.query('SELECT pg_advisory_unlock(4242)')

    // The terminated statement itself hears why (its transaction was rolled back: 57P01).
    const [blocked] = await blocker
    assert.equal(blocked.status, 'rejected')
    assert.equal(blocked.reason.code, '57P01')
    const readResults = await reads
    assert.deepEqual(
      readResults.map((r) => r.value?.rows[0].n),
      Array.from({ length: 7 }, (_, i) => i),
    )
    const writeResults = await writes
    for (const w of writeResults) {
      if (w.status === 'rejected') assert.equal(w.reason.code, 'ERR_RRM_OUTCOME_UNKNOWN')
    }
    const done = writeResults.filter((w) => w.status === 'fulfilled').length
    const unknown = writeResults.length - done
    const { rows } = await side.query('SELECT count(*)::int AS n FROM rrm_pipeline_writes')
    t.diagnostic(`writes: ${done} done, ${unknown} outcome unknown, ${rows[0].n} rows`)
    // Those queued behind the terminated statement never ran; the others ran once.
    assert.equal(rows[0].n, done)
  } finally {
    await side.query('SELECT pg_advisory_unlock_all()')
    await side.end()
    await manager.query('DROP TABLE IF EXISTS rrm_pipeline_writes')
  }
})

test('getClient() gets a connection while lanes are kept busy', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    max: 1,
    connectionTimeoutMillis: 20_000,
  })
  let running = true
  const load = Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      let n = 0
      while (running) {
        const { rows } = await manager.query('SELECT $1::int AS n', [w])
        assert.equal(rows[0].n, w)
        n++
      }
      return n
    }),
  )
  try {
    await waitFor('reads sharing connections', () => pipelined(manager) > 100)
    for (const kind of ['read', 'write']) {
      const client = await manager.getClient(kind)
      try {
        const { rows } = await client.query('SELECT 7 AS n')
        assert.equal(rows[0].n, 7)
      } finally {
        client.release()
      }
    }
  } finally {
    running = false
  }
  const served = await load
  assert.ok(served.every((n) => n > 0))
})

test('a read timing out on a shared connection fails over; its neighbours are not canceled', async () => {
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    max: 1,
    replicaReadTimeout: 500,
  })
  const failoversBefore = manager.getMetrics().replicaFailovers
  const slow = manager.query('SELECT pg_sleep(1.5), inet_server_port() AS port')
  const neighbours = Array.from({ length: 30 }, (_, i) => manager.query('SELECT $1::int AS n', [i]))
  const results = await Promise.all(neighbours)
  assert.deepEqual(
    results.map((r) => r.rows[0].n),
    Array.from({ length: 30 }, (_, i) => i),
  )
  const { rows } = await slow
  assert.equal(rows[0].port, PRIMARY_PORT, 'the timed-out read ran again on the primary')
  assert.ok(manager.getMetrics().replicaFailovers > failoversBefore)
  assert.ok(pipelined(manager) > 0)
})

const PID = 'SELECT pg_backend_pid() AS pid'

/** Runs `text` often enough, one at a time, for the manager to know how long it takes. */
async function learn(manager, text, values = []) {
  for (let i = 0; i < 20; i++) await manager.query(text, values)
}

test('brisk statements gather on a busy connection while the pool has idle ones; briskDepth: 1 keeps them apart', async () => {
  // No replica: every statement on the primary's pool, which never runs out (4 at once, max 4).
  const manager = await initializeReadReplicaManager(primaryConfig, [], { max: 4 })
  await learn(manager, PID)
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 4 }, () => manager.query(PID)))
  assert.ok(pipelined(manager) > 0, 'brisk statements shared a connection the pool could have matched')
  await closeReadReplicaManager()

  const apart = await initializeReadReplicaManager(primaryConfig, [], { max: 4, briskDepth: 1 })
  await learn(apart, PID)
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 4 }, () => apart.query(PID)))
  assert.equal(pipelined(apart), 0)
})

/** Waits until the primary runs a statement of the manager's whose text has `marker`. */
async function running(side, marker) {
  await waitFor(`${marker} running`, async () => {
    const { rows } = await side.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'read-replica-manager' AND state = 'active' AND position($1 in query) > 0",
      [marker],
    )
    return rows[0].n === 1
  })
}

test('a statement never seen, or a brisk one that turned slow, gathers no brisk statement behind it', async () => {
  // The slow statement's connection and one for the brisk ones (six, under briskDepth): the
  // pool (max 4) never runs out.
  const manager = await initializeReadReplicaManager(primaryConfig, [], { max: 4 })
  const side = await sideChannel()
  try {
    await learn(manager, PID)
    const SLEEP = 'SELECT pg_backend_pid() AS pid, pg_sleep($1::float8) AS rrm_brisk_sleep'
    await learn(manager, SLEEP, [0])
    for (const [text, values] of [
      ['SELECT pg_backend_pid() AS pid, pg_sleep(0.5) AS rrm_never_seen', []],
      [SLEEP, [0.5]],
    ]) {
      const slow = manager.query(text, values)
      await running(side, text.slice(text.lastIndexOf(' ') + 1))
      // Longer than a brisk connection may go without an answer and still take newcomers.
      await new Promise((resolve) => setTimeout(resolve, 20))
      const quick = await Promise.all(Array.from({ length: 6 }, () => manager.query(PID)))
      const { rows } = await slow
      for (const r of quick) assert.notEqual(r.rows[0].pid, rows[0].pid, `a quick statement waited behind ${text}`)
    }
  } finally {
    await side.end()
  }
})
