// Read-your-writes with replay paused on real replicas: a session never reads stale data, and
// reads outside a session really do.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, test } from 'node:test'
import express from 'express'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PRIMARY_PORT, REPLICA_PORTS, replicated, servedBy } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
const [PORT0, PORT1] = REPLICA_PORTS
let manager

async function onNode(port, sql) {
  const client = new pg.Client({ ...primaryConfig, port, application_name: 'rrm-test-side-channel' })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}
const pause = (port) => onNode(port, 'SELECT pg_wal_replay_pause()')
const resume = (port) => onNode(port, 'SELECT pg_wal_replay_resume()')

before(async () => {
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 200 })
  await manager.query('CREATE TABLE IF NOT EXISTS rrm_ryw (id int PRIMARY KEY, v int NOT NULL)')
  await manager.query('INSERT INTO rrm_ryw VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0')
  await replicated(manager)
})

after(async () => {
  for (const port of REPLICA_PORTS) await resume(port).catch(() => {})
  await closeReadReplicaManager()
})

const readV = async (options) =>
  (await manager.query('SELECT v, inet_server_port() AS port FROM rrm_ryw WHERE id = 1', [], options)).rows[0]

test('replay paused everywhere: 50 session reads after a write all see it; without a session they do not', async () => {
  await pause(PORT0)
  await pause(PORT1)
  try {
    const before = manager.getMetrics()
    await manager.withSession(async () => {
      await manager.query('UPDATE rrm_ryw SET v = 1 WHERE id = 1')
      assert.match(manager.lastWriteLsn(), /^[0-9A-F]+\/[0-9A-F]+$/)
      for (let i = 0; i < 50; i++) {
        const row = await readV()
        assert.equal(row.v, 1, `read ${i} saw stale data on port ${row.port}`)
        assert.equal(row.port, PRIMARY_PORT, 'no replica has it, so the primary answers')
      }
    })
    // Outside a session the replicas really are behind.
    const stale = await readV()
    assert.equal(stale.v, 0)
    assert.ok(REPLICA_PORTS.includes(stale.port))
    const after = manager.getMetrics()
    assert.ok(after.consistencyPrimaryReads - before.consistencyPrimaryReads >= 50)
    assert.ok(after.causalWaits > before.causalWaits)
  } finally {
    await resume(PORT0)
    await resume(PORT1)
  }
})

test('replay paused on one replica: session reads go to the other replica, not the primary', async () => {
  await replicated(manager)
  await pause(PORT1)
  try {
    await manager.withSession(async () => {
      await manager.query('UPDATE rrm_ryw SET v = 2 WHERE id = 1')
      const ports = new Set()
      for (let i = 0; i < 20; i++) {
        const row = await readV()
        assert.equal(row.v, 2)
        ports.add(row.port)
      }
      assert.ok(!ports.has(PORT1), 'never the paused replica')
      assert.ok(ports.has(PORT0), 'the caught-up replica serves the session')
    })
  } finally {
    await resume(PORT1)
  }
})

test('a token carries consistency across requests; a write transaction on a client counts', async () => {
  await replicated(manager)
  await pause(PORT0)
  await pause(PORT1)
  try {
    const token = await manager.withSession(async () => {
      const client = await manager.getClient('write')
      try {
        await client.query('BEGIN')
        await client.query('UPDATE rrm_ryw SET v = 3 WHERE id = 1')
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      return manager.lastWriteLsn()
    })
    assert.ok(token)
    // A later request (a new session) that presents the token sees the write.
    await manager.withSession(async () => assert.equal((await readV()).v, 3), { minLsn: token })
    // So does a single query given the token, and one asking for strong consistency.
    assert.equal((await readV({ minLsn: token })).v, 3, 'a token alone asks for read-your-writes')
    assert.equal((await readV({ minLsn: token, consistency: 'read-your-writes' })).v, 3)
    assert.equal((await readV({ consistency: 'strong' })).v, 3)
    assert.equal((await readV()).v, 2, 'an eventual read without the token is stale')
  } finally {
    await resume(PORT0)
    await resume(PORT1)
  }
})

test('sessionMiddleware opens a session per Express request', async () => {
  await replicated(manager)
  const app = express()
  app.use(manager.sessionMiddleware())
  app.post('/bump', async (req, res) => {
    await manager.query('UPDATE rrm_ryw SET v = v + 1 WHERE id = 1')
    res.json(await readV())
  })
  app.get('/lsn', (req, res) => res.json({ lsn: manager.lastWriteLsn() }))
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { v } = await readV({ consistency: 'strong' })
  await pause(PORT0)
  await pause(PORT1)
  try {
    const url = `http://127.0.0.1:${server.address().port}`
    const bumped = await (await fetch(`${url}/bump`, { method: 'POST' })).json()
    assert.equal(bumped.v, v + 1)
    assert.deepEqual(await (await fetch(`${url}/lsn`)).json(), { lsn: null }, 'each request has its own session')
  } finally {
    await resume(PORT0)
    await resume(PORT1)
    server.close()
  }
})

test('options validate', async () => {
  await assert.rejects(manager.query('SELECT 1', [], { consistency: 'sometimes' }), /options\.consistency/)
  await assert.rejects(manager.query('SELECT 1', [], { minLsn: 'nope' }), /options\.minLsn/)
  await assert.rejects(
    manager.withSession(async () => {}, { minLsn: 42 }),
    /options\.minLsn/,
  )
  assert.equal(manager.lastWriteLsn(), null, 'no session, no token')
  assert.ok(REPLICA_PORTS.includes(await servedBy(manager)))
})
