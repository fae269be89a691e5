// High availability on a real Patroni cluster (scripts/ha-cluster.sh: etcd + 3 Patroni members):
// the manager, initialized once as docs/guide.md shows, follows the primary through a planned
// switchover, a leader crash and the old leader's rejoin, with clients checked out across the
// change and behind a name whose target moves. Counts are asserted, never timings.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import net from 'node:net'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { waitFor } from './helpers.mjs'

const require = createRequire(import.meta.url)
const {
  credentials,
  ensureHaCluster,
  haCluster,
  haClusterAsync,
  haLeader,
  haLeaderAsync,
  haMembers,
} = require('../scripts/ha-cluster.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
let started = false

before(async () => {
  started = ensureHaCluster()
  const leader = haLeader()
  const client = new pg.Client({ ...credentials, port: leader.port })
  await client.connect()
  await client.query('CREATE TABLE IF NOT EXISTS rrm_ha (id bigserial PRIMARY KEY, n int NOT NULL)')
  await client.end()
})

after(async () => {
  await closeReadReplicaManager()
  // Leave the cluster as the next run expects it: every member streaming from a leader.
  haCluster('wait')
  if (started) haCluster('stop')
})

/** The guide's configs for the HA cluster: the leader now as primary, the others as replicas. */
function guideConfigs() {
  const leader = haLeader()
  const others = haMembers().filter((m) => m.name !== leader.name)
  const config = (m) => ({ ...credentials, port: m.port })
  return { primaryConfig: config(leader), replicaConfigs: others.map(config) }
}

/** Port → the member's key in the manager's status (`primary`, `replica_0`, …), as configured. */
function keysByPort({ primaryConfig, replicaConfigs }) {
  return new Map([[primaryConfig.port, 'primary'], ...replicaConfigs.map((c, i) => [c.port, `replica_${i}`])])
}

/**
 * Steady work: `writers` loops inserting a row every 20 ms, `readers` loops reading every 10 ms.
 * Each loop has at most one statement in flight, so a change of primary can fail at most
 * `writers` writes (the ones in flight when it happened).
 */
function steadyLoad(manager, { writers = 2, readers = 2 } = {}) {
  const stats = { acked: [], failedWrites: [], reads: 0, failedReads: [] }
  let running = true
  const writer = async (w) => {
    for (let n = 0; running; n++) {
      try {
        const { rows } = await manager.query('INSERT INTO rrm_ha (n) VALUES ($1) RETURNING id', [w * 1e6 + n])
        stats.acked.push(rows[0].id)
      } catch (err) {
        stats.failedWrites.push(err)
      }
      await sleep(20)
    }
  }
  const reader = async () => {
    while (running) {
      try {
        await manager.query('SELECT count(*) FROM rrm_ha WHERE n >= $1', [0])
        stats.reads++
      } catch (err) {
        stats.failedReads.push(err)
      }
      await sleep(10)
    }
  }
  const loops = [...Array.from({ length: writers }, (_, w) => writer(w)), ...Array.from({ length: readers }, reader)]
  return {
    stats,
    /** Waits until `count` more writes have landed (the primary is back), bounded. */
    async landed(count, what) {
      const target = stats.acked.length + count
      await waitFor(what, () => stats.acked.length >= target, 90_000)
    },
    async stop() {
      running = false
      await Promise.all(loops)
      return stats
    },
  }
}

const describeErrors = (errors) => errors.map((e) => `${e.code}: ${e.message}`).join('\n')

/**
 * A planned switchover under `steadyLoad(manager, load)`: runs until writes land on the new
 * primary, then checks what every such run must show — no failed read, and no failed write
 * beyond those in flight at the change. Returns the load's figures and the new leader.
 */
async function switchoverUnderLoad(t, manager, load) {
  const running = steadyLoad(manager, load)
  await running.landed(20, 'writes before the switchover')
  await haClusterAsync('switchover')
  const newLeader = await haLeaderAsync()
  await running.landed(50, 'writes on the new primary')
  const stats = await running.stop()
  t.diagnostic(`${stats.acked.length} writes, ${stats.reads} reads; failed writes: ${stats.failedWrites.length}`)
  assert.deepEqual(stats.failedReads, [], describeErrors(stats.failedReads))
  assert.ok(stats.failedWrites.length <= 2, `only writes in flight may fail:\n${describeErrors(stats.failedWrites)}`)
  return { stats, newLeader }
}

/** Rows of `ids` present on the primary now. */
async function present(manager, ids) {
  const { rows } = await manager.query('SELECT count(*)::int AS n FROM rrm_ha WHERE id = ANY($1::int8[])', [ids], {
    route: 'primary',
  })
  return rows[0].n
}

/** Waits until member `key` is a standby serving reads again, then checks reads reach it. */
async function servesReadsAgain(manager, key, port) {
  await waitFor(
    `${key} back as an eligible standby`,
    () => {
      const status = manager.getReplicaStatus()[key]
      return status?.role === 'replica' && status.eligible
    },
    90_000,
  )
  const ports = new Set()
  for (let i = 0; i < 20; i++) {
    ports.add((await manager.query("SELECT current_setting('port')::int AS port")).rows[0].port)
  }
  assert.ok(ports.has(port), `reads reach ${key} (${port}): ${[...ports]}`)
}

test('switchover under steady reads and writes: writes follow the new primary, nothing acknowledged is lost', {
  timeout: 180_000,
}, async (t) => {
  const configs = guideConfigs()
  const keys = keysByPort(configs)
  const events = []
  const manager = await initializeReadReplicaManager(configs.primaryConfig, configs.replicaConfigs, {
    healthCheckInterval: 500,
    onEvent: (e) => events.push(e),
  })
  try {
    const oldLeader = haLeader()
    const { stats, newLeader } = await switchoverUnderLoad(t, manager)
    for (const err of stats.failedWrites) assert.equal(err.code, 'ERR_RRM_OUTCOME_UNKNOWN', err.message)
    assert.equal(
      await present(manager, stats.acked),
      stats.acked.length,
      'every acknowledged write is on the new primary',
    )

    const metrics = manager.getMetrics()
    assert.equal(metrics.primary.name, keys.get(newLeader.port))
    assert.equal(metrics.primary.port, newLeader.port)
    assert.ok(metrics.primaryChanges >= 1)
    assert.ok(events.some((e) => e.type === 'primary-changed'))
    const { rows } = await manager.query("SELECT current_setting('port')::int AS port", [], { route: 'primary' })
    assert.equal(rows[0].port, newLeader.port, 'writes run on the new leader')
    // The promoted member left the read rotation; the old leader joins it once it streams.
    assert.equal(manager.getReplicaStatus()[keys.get(newLeader.port)]?.eligible ?? false, false)
    await servesReadsAgain(manager, keys.get(oldLeader.port), oldLeader.port)
  } finally {
    await closeReadReplicaManager()
  }
})

test('leader crash under load: reads go on, writes wait for the new primary, the old leader rejoins as a standby', {
  timeout: 240_000,
}, async (t) => {
  const configs = guideConfigs()
  const keys = keysByPort(configs)
  const manager = await initializeReadReplicaManager(configs.primaryConfig, configs.replicaConfigs, {
    healthCheckInterval: 500,
    connectionTimeoutMillis: 60_000,
  })
  try {
    const load = steadyLoad(manager)
    await load.landed(20, 'writes before the crash')
    const [killed, killedPort] = (await haClusterAsync('kill-leader')).trim().split(/\s+/).slice(-2)
    const newLeader = await haLeaderAsync()
    await load.landed(50, 'writes on the new primary')
    const stats = await load.stop()
    t.diagnostic(`${stats.acked.length} writes, ${stats.reads} reads; failed writes: ${stats.failedWrites.length}`)

    assert.deepEqual(stats.failedReads, [], describeErrors(stats.failedReads))
    assert.ok(stats.failedWrites.length <= 2, `only writes in flight may fail:\n${describeErrors(stats.failedWrites)}`)
    assert.equal(manager.getMetrics().primary.name, keys.get(newLeader.port))

    await haClusterAsync('rejoin', killed)
    await servesReadsAgain(manager, keys.get(Number(killedPort)), Number(killedPort))
    const { rows } = await manager.query('INSERT INTO rrm_ha (n) VALUES (-1) RETURNING id')
    assert.equal(await present(manager, [rows[0].id]), 1)
  } finally {
    await closeReadReplicaManager()
  }
})

test('clients checked out across a switchover: the old connection fails, never writes to a standby; new clients follow', {
  timeout: 180_000,
}, async () => {
  const configs = guideConfigs()
  const manager = await initializeReadReplicaManager(configs.primaryConfig, configs.replicaConfigs, {
    healthCheckInterval: 500,
  })
  try {
    const oldLeader = haLeader()
    const writeClient = await manager.getClient('write')
    assert.equal((await writeClient.query("SELECT current_setting('port')::int AS port")).rows[0].port, oldLeader.port)
    // Fill the write pool, so that connections to the old primary sit idle in it.
    await Promise.all(Array.from({ length: 8 }, (_, n) => manager.query('INSERT INTO rrm_ha (n) VALUES ($1)', [n])))
    await haClusterAsync('switchover')
    const newLeader = await haLeaderAsync()

    // The dedicated connection went with the old primary's restart: it fails, and is closed.
    const err = await writeClient.query('INSERT INTO rrm_ha (n) VALUES (1)').catch((e) => e)
    assert.ok(err instanceof Error, 'the old connection does not write to a standby')
    writeClient.release(err)

    await waitFor('the new primary elected', () => manager.getMetrics().primary.port === newLeader.port, 30_000)
    const fresh = await manager.getClient('write')
    try {
      await fresh.query('BEGIN')
      await fresh.query('INSERT INTO rrm_ha (n) VALUES (2)')
      assert.equal((await fresh.query("SELECT current_setting('port')::int AS port")).rows[0].port, newLeader.port)
      await fresh.query('COMMIT')
    } finally {
      fresh.release()
    }
    // Every pooled write connection now reaches the new primary: none was kept for the old role.
    const ports = await Promise.all(
      Array.from({ length: 8 }, () =>
        manager.query("SELECT current_setting('port')::int AS port, pg_is_in_recovery() AS standby", [], {
          route: 'primary',
        }),
      ),
    )
    for (const { rows } of ports) assert.deepEqual(rows[0], { port: newLeader.port, standby: false })
  } finally {
    await closeReadReplicaManager()
  }
})

/**
 * A stand-in for a Service whose target moves (CloudNativePG `-rw`, HAProxy in front of
 * Patroni): a TCP proxy that sends each new connection to whichever member Patroni's REST API
 * says is primary, polled every 100 ms, and closes the connections to a member that lost it.
 */
async function primaryService(members) {
  let target = null
  const sockets = new Set()
  const poll = async () => {
    for (const m of members) {
      const api = 28008 + (m.port - members[0].port)
      const ok = await fetch(`http://127.0.0.1:${api}/primary`)
        .then((r) => r.ok)
        .catch(() => false)
      if (ok) {
        if (target !== m.port) {
          for (const s of sockets) s.destroy()
          target = m.port
        }
        return
      }
    }
    target = null
  }
  await poll()
  const timer = setInterval(poll, 100)
  const server = net.createServer((client) => {
    if (target === null) return client.destroy()
    const upstream = net.connect(target, '127.0.0.1')
    const pair = [client, upstream]
    for (const s of pair) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        for (const other of pair) other.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    close() {
      clearInterval(timer)
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

test('a primary configured by a name whose target moves: writes recover through a switchover', {
  timeout: 180_000,
}, async (t) => {
  const service = await primaryService(haMembers())
  const manager = await initializeReadReplicaManager({ ...credentials, port: service.port }, [], {
    healthCheckInterval: 500,
  })
  try {
    const { stats, newLeader } = await switchoverUnderLoad(t, manager, { writers: 2, readers: 1 })
    const { rows } = await manager.query("SELECT current_setting('port')::int AS port", [], { route: 'primary' })
    assert.equal(rows[0].port, newLeader.port, 'new connections were resolved afresh')
    assert.equal(await present(manager, stats.acked), stats.acked.length)
  } finally {
    await closeReadReplicaManager()
    service.close()
  }
})
