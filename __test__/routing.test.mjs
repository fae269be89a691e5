// The router corpus (core/tests/corpus/routes.sql) on the real cluster: each statement runs
// where it was routed and succeeds there, with no failover and no read a replica refused.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { classifyQuery, closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, replicated } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()

function corpus() {
  const text = readFileSync(new URL('../core/tests/corpus/routes.sql', import.meta.url), 'utf8')
  return text
    .split('\n=== ')
    .slice(1)
    .map((block) => {
      const newline = block.indexOf('\n')
      const [target, reason, flag] = block.slice(0, newline).trim().split(/\s+/)
      return { target, reason, exec: flag !== 'noexec', sql: block.slice(newline + 1).replace(/\n$/, '') }
    })
}

const FIXTURE = [
  'DROP TABLE IF EXISTS rc_u, rc_t, rc_q, rc_log, rc_tmp1, rc_tmp2, rc_into1, rc_into3, rc_into4 CASCADE',
  'DROP SEQUENCE IF EXISTS rc_s, rc_tmp_seq',
  'DROP MATERIALIZED VIEW IF EXISTS rc_mv',
  `CREATE TABLE rc_t (id int PRIMARY KEY, a int, b text, "update" int, doc jsonb)`,
  `INSERT INTO rc_t SELECT g, g, 'b' || g, g, '{"k": 1}' FROM generate_series(1, 10) g`,
  'CREATE TABLE rc_u (id int PRIMARY KEY, t_id int REFERENCES rc_t (id), note text)',
  "INSERT INTO rc_u SELECT g, g, 'n' || g FROM generate_series(1, 5) g",
  'CREATE TABLE rc_q ("into" int, "for" int, nextval int, currval int, my_nextval int)',
  'INSERT INTO rc_q VALUES (1, 2, 3, 4, 5)',
  'CREATE TABLE rc_log (id serial PRIMARY KEY, msg text)',
  'CREATE SEQUENCE rc_s',
  'CREATE OR REPLACE VIEW rc_v AS SELECT id, a FROM rc_t',
  'CREATE MATERIALIZED VIEW rc_mv AS SELECT id FROM rc_t',
  "CREATE OR REPLACE FUNCTION rc_read(int) RETURNS int LANGUAGE sql STABLE AS 'SELECT $1 + 1'",
  "CREATE OR REPLACE PROCEDURE rc_proc() LANGUAGE sql AS 'SELECT 1'",
  `CREATE OR REPLACE FUNCTION rc_bump() RETURNS int LANGUAGE sql VOLATILE
     AS $$ INSERT INTO rc_log (msg) VALUES ('bump') RETURNING id $$`,
]

let manager
before(async () => {
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  for (const sql of FIXTURE) await manager.query(sql)
  await replicated(manager)
})
after(() => closeReadReplicaManager())

test('classifyQuery agrees with every corpus annotation', () => {
  const entries = corpus()
  assert.ok(entries.length >= 200, `${entries.length} entries`)
  for (const e of entries) {
    assert.deepEqual(classifyQuery(e.sql), { route: e.target, reason: e.reason }, e.sql)
    assert.deepEqual(manager.classifyQuery(e.sql), { route: e.target, reason: e.reason }, e.sql)
  }
})

test('every executable corpus statement succeeds where it was routed', { timeout: 120_000 }, async () => {
  const entries = corpus().filter((e) => e.exec)
  assert.ok(entries.length >= 150, `${entries.length} executable entries`)
  const start = manager.getMetrics()
  const expected = {}
  for (const e of entries) {
    const before = manager.getMetrics()
    if (e.target === 'reject') {
      await assert.rejects(manager.query(e.sql), { code: 'ERR_RRM_TRANSACTION_CONTROL' }, e.sql)
    } else {
      await manager.query(e.sql).catch((err) => {
        throw new Error(`${e.target} ${e.reason}: ${JSON.stringify(e.sql)} failed: ${err.code} ${err.message}`)
      })
    }
    const after = manager.getMetrics()
    // Where it ran: a read counts as a read and a write as a write, with no failover and no
    // replica refusing it as a write (which would mean a write reached a replica).
    assert.equal(after.replicaFailovers, before.replicaFailovers, `failover on ${e.sql}`)
    assert.equal(after.misroutedReads, before.misroutedReads, `a replica refused ${e.sql}`)
    assert.equal(after.readQueries - before.readQueries, e.target === 'replica' ? 1 : 0, e.sql)
    assert.equal(after.writeQueries - before.writeQueries, e.target === 'primary' ? 1 : 0, e.sql)
    assert.equal(after.routes[e.reason] - before.routes[e.reason], 1, e.sql)
    expected[e.reason] = (expected[e.reason] ?? 0) + 1
  }
  const end = manager.getMetrics()
  for (const [reason, n] of Object.entries(expected)) {
    assert.equal(end.routes[reason] - start.routes[reason], n, reason)
  }
})

test('an unknown write function is caught by the replica and run on the primary', async () => {
  const before = manager.getMetrics()
  const { rows } = await manager.query('SELECT rc_bump() AS id')
  assert.ok(rows[0].id > 0)
  const after = manager.getMetrics()
  assert.equal(after.misroutedReads, before.misroutedReads + 1)
  assert.equal(after.replicaFailovers, before.replicaFailovers)
})

test('options.writeFunctions routes a function to the primary up front', async () => {
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, {
    writeFunctions: ['rc_bump'],
    readOnlyFunctions: ['set_config'],
  })
  assert.deepEqual(manager.classifyQuery('SELECT rc_bump()'), { route: 'primary', reason: 'write-function' })
  assert.deepEqual(manager.classifyQuery("SELECT set_config('a.b', 'c', false)"), {
    route: 'replica',
    reason: 'select',
  })
  await manager.query('SELECT rc_bump()')
  const m = manager.getMetrics()
  assert.equal(m.misroutedReads, 0)
  assert.equal(m.routes['write-function'], 1)
  await closeReadReplicaManager()
  await assert.rejects(
    initializeReadReplicaManager(primaryConfig, replicaConfigs, { writeFunctions: 'rc_bump' }),
    /options\.writeFunctions must be an array/,
  )
  await assert.rejects(
    initializeReadReplicaManager(primaryConfig, replicaConfigs, { writeFunctions: ['ok', 'drop table x'] }),
    /options\.writeFunctions\[1\] must be a function name/,
  )
})

test('per-query route overrides are counted by reason', async () => {
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  await manager.query('SELECT 1', [], { route: 'primary' })
  await manager.query('SELECT 1', [], { route: 'replica' })
  const { routes, writeQueries, readQueries } = manager.getMetrics()
  assert.equal(routes['override-primary'], 1)
  assert.equal(routes['override-replica'], 1)
  assert.equal(writeQueries, 1)
  assert.equal(readQueries, 1)
})

test('classifyQuery validates its arguments', () => {
  assert.throws(() => classifyQuery(42), /sql must be a string/)
  assert.throws(() => classifyQuery('SELECT 1', { writeFunctions: 'x' }), /writeFunctions must be an array/)
  assert.deepEqual(classifyQuery('SELECT my_fn()', { writeFunctions: ['my_fn'] }), {
    route: 'primary',
    reason: 'write-function',
  })
})
