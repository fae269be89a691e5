// Transactions on a getClient() client against node-postgres as the oracle. A bare BEGIN is
// answered at once and sent with the statement after it (one round trip fewer per
// transaction): nothing a caller can observe may differ from pg's BEGIN.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
let manager

before(async () => {
  // One connection per node: every client reuses the connection the previous one released.
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1 })
  await manager.query('DROP TABLE IF EXISTS rrm_tx')
  await manager.query('CREATE TABLE rrm_tx (n int PRIMARY KEY)')
})

after(async () => {
  await manager.query('DROP TABLE IF EXISTS rrm_tx')
  await closeReadReplicaManager()
})

/** What a caller sees of each statement: the result's shape, or the error's code and message. */
async function observe(client, statements) {
  const seen = []
  for (const text of statements) {
    try {
      const r = await client.query(text)
      seen.push({ command: r.command, rowCount: r.rowCount, rows: r.rows, fields: r.fields.map((f) => f.name) })
    } catch (e) {
      seen.push({ code: e.code, message: e.message })
    }
  }
  return seen
}

/** The same statements on a pg client and on a manager client, from an empty table. */
async function bothWays(statements) {
  const results = []
  for (const open of [
    async () => {
      const c = new pg.Client(primaryConfig)
      await c.connect()
      return { client: c, done: () => c.end() }
    },
    async () => {
      const c = await manager.getClient('write')
      return { client: c, done: () => c.release() }
    },
  ]) {
    await manager.query('DELETE FROM rrm_tx')
    const { client, done } = await open()
    try {
      results.push(await observe(client, statements))
    } finally {
      await done()
    }
    results.push((await manager.query('SELECT n FROM rrm_tx ORDER BY n', [], { route: 'primary' })).rows)
  }
  assert.deepEqual(results[2], results[0], 'what the manager client saw is what pg saw')
  assert.deepEqual(results[3], results[1], 'the table ends as with pg')
  return results[2]
}

test('BEGIN … COMMIT and BEGIN … ROLLBACK, in each spelling pg accepts', async () => {
  for (const begin of ['BEGIN', 'begin;', 'BEGIN WORK', 'BEGIN TRANSACTION', 'START TRANSACTION']) {
    await bothWays([begin, 'INSERT INTO rrm_tx VALUES (1)', 'COMMIT'])
    await bothWays([begin, 'INSERT INTO rrm_tx VALUES (1)', 'ROLLBACK'])
  }
})

test('a failed statement after BEGIN: the transaction is aborted, COMMIT answers ROLLBACK', async () => {
  const seen = await bothWays(['BEGIN', 'INSERT INTO rrm_tx VALUES (1)', 'SELECT 1/0', 'SELECT 1', 'COMMIT'])
  assert.equal(seen[4].command, 'ROLLBACK')
})

test('the statement after BEGIN is in the transaction: SAVEPOINT works, a second BEGIN warns only', async () => {
  await bothWays(['BEGIN', 'SAVEPOINT a', 'INSERT INTO rrm_tx VALUES (1)', 'ROLLBACK TO SAVEPOINT a', 'COMMIT'])
  await bothWays(['BEGIN', 'BEGIN', 'INSERT INTO rrm_tx VALUES (2)', 'COMMIT'])
  await bothWays(['BEGIN', 'COMMIT', 'SAVEPOINT a'])
  await bothWays(['BEGIN ISOLATION LEVEL REPEATABLE READ', 'INSERT INTO rrm_tx VALUES (3)', 'COMMIT'])
})

test('a client released right after BEGIN leaves nothing open for the next one', async () => {
  const first = await manager.getClient('write')
  await first.query('BEGIN')
  first.release()
  const next = await manager.getClient('write')
  try {
    await assert.rejects(next.query('SAVEPOINT a'), { code: '25P01' })
    const { rows } = await next.query('SELECT pg_current_xact_id_if_assigned() AS xid')
    assert.equal(rows[0].xid, null)
  } finally {
    next.release()
  }
})

test('a cursor right after BEGIN reads inside the transaction', async () => {
  const client = await manager.getClient('write')
  try {
    await client.query('BEGIN')
    await client.query('INSERT INTO rrm_tx VALUES (10), (11)')
    const cursor = client.cursor('SELECT n FROM rrm_tx WHERE n >= 10 ORDER BY n')
    assert.deepEqual(
      (await cursor.read(10)).map((r) => r.n),
      [10, 11],
    )
    await cursor.close()
    await client.query('ROLLBACK')
    const { rows } = await client.query('SELECT count(*)::int AS n FROM rrm_tx WHERE n >= 10')
    assert.equal(rows[0].n, 0)
  } finally {
    client.release()
  }
})

test('a cursor as the first statement after BEGIN sees the transaction', async () => {
  const client = await manager.getClient('write')
  try {
    await client.query('BEGIN')
    const cursor = client.cursor('SELECT pg_current_xact_id()::text AS xid')
    const [row] = await cursor.read(1)
    await cursor.close()
    // Inside a transaction block, the id assigned above stays for the next statement.
    const { rows } = await client.query('SELECT pg_current_xact_id_if_assigned()::text AS xid')
    assert.equal(rows[0].xid, row.xid)
    await client.query('COMMIT')
  } finally {
    client.release()
  }
})

test('BEGIN reaches the server with the statement after it, not before', async () => {
  const client = await manager.getClient('write')
  const side = new pg.Client(primaryConfig)
  await side.connect()
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid')
    const state = async () =>
      (await side.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [rows[0].pid])).rows[0].state
    await client.query('BEGIN')
    assert.equal(await state(), 'idle')
    await client.query('SELECT 1')
    assert.equal(await state(), 'idle in transaction')
    await client.query('COMMIT')
    assert.equal(await state(), 'idle')
  } finally {
    client.release()
    await side.end()
  }
})
