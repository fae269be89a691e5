// The public API (README, "Usage" and "API"; the user's guide, docs/guide.md) against the real
// primary and two streaming replicas.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, getReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PASSWORD, PRIMARY_PORT, REPLICA_PORTS, replicated, servedBy } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()

let sideChannel
/** A pg pool of the test's own on the primary, to look at pg_stat_activity. */
function pool() {
  sideChannel ??= new pg.Pool({ ...primaryConfig, max: 1, application_name: 'rrm-test-side-channel' })
  return sideChannel
}

describe('before initialization', () => {
  test('getReadReplicaManager throws the guide error', () => {
    assert.throws(() => getReadReplicaManager(), { message: 'Read replica manager not initialized' })
  })

  test('bad configs reject, naming the field, and never echo a password', async () => {
    const cases = [
      [[null], /primaryConfig must be an object/],
      [[{ ...primaryConfig, host: undefined }], /primaryConfig\.host is required/],
      [[{ ...primaryConfig, port: NaN }], /primaryConfig\.port .*NaN/],
      [[{ ...primaryConfig, port: 'abc' }], /primaryConfig\.port/],
      [[primaryConfig, { host: 'x' }], /replicaConfigs must be an array/],
      [[primaryConfig, [{ ...replicaConfigs[0] }, { ...replicaConfigs[1], port: 99999 }]], /replicaConfigs\[1\]\.port/],
      [[primaryConfig, [], { healthCheckInterval: 'often' }], /options\.healthCheckInterval/],
      [[primaryConfig, [], { healthcheckInterval: 5 }], /options\.healthcheckInterval is not a known option/],
      [[{ ...primaryConfig, ssl: 'yes' }], /primaryConfig\.ssl must be true, false or/],
      [[{ ...primaryConfig, ssl: { ca: 'not a certificate' } }], /primaryConfig\.ssl\.ca/],
      [[{ ...primaryConfig, connectionString: 'postgres://h/db?sslmode=sometimes' }], /unknown sslmode/],
      [[{ ...primaryConfig, password: 12345 }], /primaryConfig\.password must be a string/],
    ]
    for (const [args, message] of cases) {
      const pending = initializeReadReplicaManager(...args)
      assert.ok(pending instanceof Promise, 'returns a Promise instead of throwing')
      const err = await pending.then(
        () => assert.fail(`expected ${message} to reject`),
        (e) => e,
      )
      assert.ok(err instanceof TypeError, `${message}: ${err}`)
      assert.match(err.message, message)
      assert.ok(!err.message.includes(PASSWORD) && !err.message.includes('12345'), err.message)
    }
    assert.throws(() => getReadReplicaManager(), /not initialized/)
  })

  test('a bad environment variable is named', async () => {
    process.env.DB_POOL_MAX = 'lots'
    try {
      await assert.rejects(initializeReadReplicaManager(primaryConfig, replicaConfigs), /DB_POOL_MAX.*"lots"/)
    } finally {
      delete process.env.DB_POOL_MAX
    }
  })
})

describe('initialized manager', () => {
  let manager
  before(async () => {
    await closeReadReplicaManager()
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 500 })
    await manager.query('DROP TABLE IF EXISTS rrm_api_users')
    await manager.query('CREATE TABLE rrm_api_users (id serial PRIMARY KEY, name text NOT NULL UNIQUE)')
    await replicated(manager)
  })
  after(async () => {
    await manager.query('DROP TABLE IF EXISTS rrm_api_users')
    await closeReadReplicaManager()
    await sideChannel?.end()
  })

  test('initialize is an idempotent singleton', async () => {
    assert.equal(getReadReplicaManager(), manager)
    assert.equal(await initializeReadReplicaManager(primaryConfig, replicaConfigs), manager)
    const [a, b] = await Promise.all([
      initializeReadReplicaManager(primaryConfig, []),
      initializeReadReplicaManager(primaryConfig, []),
    ])
    assert.equal(a, manager)
    assert.equal(b, manager)
  })

  test('the first health check ran before initialize resolved', () => {
    const status = manager.getReplicaStatus()
    assert.deepEqual(Object.keys(status), ['replica_0', 'replica_1'])
    for (const [i, key] of ['replica_0', 'replica_1'].entries()) {
      const s = status[key]
      assert.equal(s.host, replicaConfigs[i].host)
      assert.equal(s.port, replicaConfigs[i].port)
      assert.equal(s.database, replicaConfigs[i].database)
      assert.equal(s.healthy, true)
      assert.equal(s.failureCount, 0)
      assert.equal(typeof s.responseTime, 'number')
      assert.equal(new Date(s.lastHealthCheck).toISOString(), s.lastHealthCheck)
    }
    assert.ok(!JSON.stringify(status).includes(PASSWORD))
  })

  test('reads go round-robin to the replicas, writes to the primary', async () => {
    const seen = new Map()
    for (let i = 0; i < 20; i++) {
      const port = await servedBy(manager)
      seen.set(port, (seen.get(port) ?? 0) + 1)
    }
    assert.deepEqual([...seen.keys()].sort(), [...REPLICA_PORTS].sort())
    for (const count of seen.values()) assert.ok(count >= 7, `uneven: ${[...seen]}`)

    const write = await manager.query(
      'INSERT INTO rrm_api_users (name) VALUES ($1) RETURNING inet_server_port() AS port',
      ['ada'],
    )
    assert.equal(write.rows[0].port, PRIMARY_PORT)
  })

  test('the guide routing rules, seen from the server that ran each statement', async () => {
    const onReplica = await manager.query(`WITH p AS (SELECT inet_server_port() AS port) SELECT port FROM p`)
    assert.ok(REPLICA_PORTS.includes(onReplica.rows[0].port))
    const explain = await manager.query('EXPLAIN SELECT * FROM rrm_api_users')
    assert.equal(explain.command, 'EXPLAIN')
    // A read the router cannot prove safe (a locking clause) runs on the primary.
    const locked = await manager.query('SELECT inet_server_port() AS port FROM rrm_api_users LIMIT 1 FOR UPDATE')
    assert.equal(locked.rows[0].port, PRIMARY_PORT)
    // Per-query override.
    assert.equal(await servedBy(manager, { route: 'primary' }), PRIMARY_PORT)
    // Comments and leading whitespace do not hide the verb.
    const commented = await manager.query('/* hi */ -- note\n   SELECT inet_server_port() AS port')
    assert.ok(REPLICA_PORTS.includes(commented.rows[0].port))
  })

  test('metrics count reads and writes', async () => {
    const before = manager.getMetrics()
    await manager.query('SELECT 1')
    await manager.query('UPDATE rrm_api_users SET name = name WHERE false')
    const after = manager.getMetrics()
    assert.equal(after.readQueries, before.readQueries + 1)
    assert.equal(after.writeQueries, before.writeQueries + 1)
    assert.equal(after.replicaCount, 2)
    assert.deepEqual(Object.keys(after.replicaStatus), ['replica_0', 'replica_1'])
    for (const key of ['readQueries', 'writeQueries', 'replicaFailovers', 'healthCheckFailures']) {
      assert.equal(typeof after[key], 'number')
    }
  })

  test('results have node-postgres shape and common types', async () => {
    const r = await manager.query(
      `SELECT 1::int2 AS i2, 2::int4 AS i4, 3.5::float8 AS f8, 9007199254740993::int8 AS i8,
              12.340::numeric AS num, true AS b, 'tx' AS t, NULL::text AS n,
              '{"a":[1,2]}'::jsonb AS jb, '[1]'::json AS j, '2024-01-02T03:04:05.678Z'::timestamptz AS ts,
              '\\xdeadbeef'::bytea AS bin, ARRAY[1, NULL, 3]::int[] AS arr, $1::text AS p`,
      ['param'],
    )
    assert.equal(r.command, 'SELECT')
    assert.equal(r.rowCount, 1)
    assert.equal(r.oid, null)
    assert.deepEqual(r.rows, [
      {
        i2: 1,
        i4: 2,
        f8: 3.5,
        i8: '9007199254740993',
        num: '12.340',
        b: true,
        t: 'tx',
        n: null,
        jb: { a: [1, 2] },
        j: [1],
        ts: new Date('2024-01-02T03:04:05.678Z'),
        bin: Buffer.from('deadbeef', 'hex'),
        arr: [1, null, 3],
        p: 'param',
      },
    ])
    assert.deepEqual(Object.keys(r.fields[0]), [
      'name',
      'tableID',
      'columnID',
      'dataTypeID',
      'dataTypeSize',
      'dataTypeModifier',
      'format',
    ])
    assert.deepEqual(
      r.fields.map((f) => f.dataTypeID),
      [21, 23, 701, 20, 1700, 16, 25, 25, 3802, 114, 1184, 17, 1007, 25],
    )

    const empty = await manager.query('SELECT id, name FROM rrm_api_users WHERE false')
    assert.equal(empty.rowCount, 0)
    assert.deepEqual(empty.rows, [])
    assert.deepEqual(
      empty.fields.map((f) => f.name),
      ['id', 'name'],
    )
    assert.ok(empty.fields[0].tableID > 0)

    const asArray = await manager.query({
      text: 'SELECT $1::int AS a, $2::text AS b',
      values: [7, 'x'],
      rowMode: 'array',
    })
    assert.deepEqual(asArray.rows, [[7, 'x']])

    const ddl = await manager.query('CREATE TEMP TABLE IF NOT EXISTS rrm_tmp (a int)')
    assert.equal(ddl.command, 'CREATE')
    assert.equal(ddl.rowCount, null)
  })

  test('parameters bind like node-postgres', async () => {
    const when = new Date('2024-05-06T07:08:09.010Z')
    const r = await manager.query(
      `SELECT $1::int AS n, $2::text AS s, $3::bool AS b, $4::text IS NULL AS nul, $5::timestamptz AS d,
              $6::bytea AS buf, $7::int[] AS arr, $8::jsonb AS obj, $9::int8 AS big, $10::text IS NULL AS undef`,
      [42, "it's", false, null, when, Buffer.from([1, 2, 3]), [1, 2, null], { k: 'v' }, 2n ** 62n, undefined],
    )
    assert.deepEqual(r.rows[0], {
      n: 42,
      s: "it's",
      b: false,
      nul: true,
      d: when,
      buf: Buffer.from([1, 2, 3]),
      arr: [1, 2, null],
      obj: { k: 'v' },
      big: String(2n ** 62n),
      undef: true,
    })
  })

  test('INSERT / UPDATE / DELETE report command and rowCount as pg does', async () => {
    const ins = await manager.query("INSERT INTO rrm_api_users (name) VALUES ('b1'), ('b2')")
    assert.deepEqual([ins.command, ins.rowCount, ins.oid], ['INSERT', 2, 0])
    const upd = await manager.query("UPDATE rrm_api_users SET name = name || '!' WHERE name LIKE 'b%' RETURNING id")
    assert.deepEqual([upd.command, upd.rowCount, upd.rows.length], ['UPDATE', 2, 2])
    const del = await manager.query("DELETE FROM rrm_api_users WHERE name LIKE 'b%'")
    assert.deepEqual([del.command, del.rowCount], ['DELETE', 2])
  })

  test('SQL errors reject with SQLSTATE fields and leave health alone', async () => {
    const before = manager.getMetrics()
    const cases = [
      ['SELEC 1', '42601'],
      ['SELECT * FROM rrm_no_such_table', '42P01'],
      ['SELECT 1/0', '22012'],
      ["SELECT 'abc'::int", '22P02'],
    ]
    for (const [sql, code] of cases) {
      const err = await manager.query(sql).then(
        () => assert.fail(`${sql} should fail`),
        (e) => e,
      )
      assert.ok(err instanceof Error)
      assert.equal(err.code, code, sql)
      assert.equal(err.severity, 'ERROR')
      assert.equal(typeof err.routine, 'string')
    }
    const unique = await manager.query("INSERT INTO rrm_api_users (name) VALUES ('dup'), ('dup')").catch((e) => e)
    assert.equal(unique.code, '23505')
    assert.equal(unique.constraint, 'rrm_api_users_name_key')
    assert.equal(unique.table, 'rrm_api_users')
    assert.match(unique.detail, /already exists/)

    const after = manager.getMetrics()
    assert.equal(after.replicaFailovers, before.replicaFailovers)
    for (const s of Object.values(manager.getReplicaStatus())) {
      assert.equal(s.healthy, true)
      assert.equal(s.failureCount, 0)
    }
  })

  test('bad arguments reject with a clear message and the manager keeps working', async () => {
    for (const [args, message] of [
      [[123], /text must be a SQL string/],
      [[null], /text must be a SQL string/],
      [[{ values: [] }], /config\.text must be a SQL string/],
      [['SELECT $1', 'x'], /values must be an array/],
      [['SELECT 1', [], { route: 'somewhere' }], /options\.route/],
    ]) {
      const pending = manager.query(...args)
      assert.ok(pending instanceof Promise)
      await assert.rejects(pending, message)
    }
    await assert.rejects(manager.getClient('x'), (e) => e instanceof TypeError && /'read' or 'write'/.test(e.message))
    assert.equal((await manager.query('SELECT 1 AS one')).rows[0].one, 1)
  })

  test('transaction control through query() points to getClient', async () => {
    for (const sql of ['BEGIN', 'COMMIT', 'ROLLBACK', 'START TRANSACTION', 'SAVEPOINT a']) {
      await assert.rejects(manager.query(sql), /getClient\('write'\)/)
    }
  })

  test("getClient('read') lands on a replica; getClient('write') on the primary", async () => {
    const read = await manager.getClient('read')
    try {
      const { rows } = await read.query('SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby')
      assert.ok(REPLICA_PORTS.includes(rows[0].port))
      assert.equal(rows[0].standby, true)
    } finally {
      read.release()
    }
    const def = await manager.getClient()
    try {
      assert.ok(REPLICA_PORTS.includes((await def.query('SELECT inet_server_port() AS p')).rows[0].p))
    } finally {
      def.release()
    }
  })

  test("the guide's write transaction commits", async () => {
    const writeClient = await manager.getClient('write')
    try {
      await writeClient.query('BEGIN')
      await writeClient.query('INSERT INTO rrm_api_users (name) VALUES ($1)', ['committed'])
      await writeClient.query('COMMIT')
    } catch (error) {
      await writeClient.query('ROLLBACK')
      throw error
    } finally {
      writeClient.release()
    }
    const { rows } = await manager.query(
      'SELECT count(*)::int AS n FROM rrm_api_users WHERE name = $1',
      ['committed'],
      {
        route: 'primary',
      },
    )
    assert.equal(rows[0].n, 1)
  })

  test("the guide's write transaction rolls back on error", async () => {
    const run = async () => {
      const writeClient = await manager.getClient('write')
      try {
        await writeClient.query('BEGIN')
        await writeClient.query('INSERT INTO rrm_api_users (name) VALUES ($1)', ['rolled-back'])
        await writeClient.query('INSERT INTO rrm_api_users (name) VALUES (NULL)') // not null violation
        await writeClient.query('COMMIT')
      } catch (error) {
        await writeClient.query('ROLLBACK')
        throw error
      } finally {
        writeClient.release()
      }
    }
    await assert.rejects(run(), (e) => e.code === '23502')
    const { rows } = await manager.query(
      'SELECT count(*)::int AS n FROM rrm_api_users WHERE name = $1',
      ['rolled-back'],
      {
        route: 'primary',
      },
    )
    assert.equal(rows[0].n, 0)
  })

  test('release follows pg-pool: double release throws, query after release rejects', async () => {
    const client = await manager.getClient('write')
    client.release()
    assert.throws(() => client.release(), /already been released/)
    await assert.rejects(client.query('SELECT 1'), /released/)
  })

  test('a client released inside a transaction does not hand it to the next user', async () => {
    // One connection in the pool makes the next checkout reuse the same backend.
    await closeReadReplicaManager()
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1 })
    const first = await manager.getClient('write')
    const pid = (await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    await first.query('BEGIN')
    await first.query("INSERT INTO rrm_api_users (name) VALUES ('left-open')")
    first.release()

    const second = await manager.getClient('write')
    try {
      const { rows } = await second.query(
        "SELECT pg_backend_pid() AS pid, pg_current_xact_id_if_assigned() IS NULL AS fresh_tx, (SELECT count(*)::int FROM rrm_api_users WHERE name = 'left-open') AS n",
      )
      assert.equal(rows[0].pid, pid, 'the same connection was reused')
      assert.equal(rows[0].fresh_tx, true, 'no transaction carried over')
      assert.equal(rows[0].n, 0, 'the abandoned insert was rolled back')
    } finally {
      second.release()
    }

    const broken = await manager.getClient('write')
    broken.release(new Error('poisoned'))
    const next = await manager.getClient('write')
    try {
      const { rows } = await next.query('SELECT pg_backend_pid() AS pid')
      assert.notEqual(rows[0].pid, pid, 'release(err) destroyed the connection')
    } finally {
      next.release()
    }
  })

  test('concurrent queries on one client run in the order they were issued', async () => {
    const client = await manager.getClient('write')
    try {
      await client.query('CREATE TEMP TABLE rrm_order (n int)')
      const done = []
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.query('INSERT INTO rrm_order VALUES ($1)', [i]).then(() => done.push(i)),
        ),
      )
      assert.deepEqual(done, [...Array(20).keys()])
      const { rows } = await client.query('SELECT array_agg(n ORDER BY ctid) AS ns FROM rrm_order')
      assert.deepEqual(rows[0].ns, [...Array(20).keys()])
    } finally {
      client.release()
    }
  })

  test('a client released in a failed transaction or with session state hands over a clean session', async () => {
    await closeReadReplicaManager()
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { max: 1 })
    const first = await manager.getClient('write')
    const pid = (await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    await first.query("SET application_name = 'dirty'")
    await first.query('CREATE TEMP TABLE rrm_leftover (a int)')
    await first.query('BEGIN')
    await assert.rejects(first.query('SELECT 1/0'), { code: '22012' })
    first.release()

    const second = await manager.getClient('write')
    try {
      const { rows } = await second.query(
        `SELECT pg_backend_pid() AS pid, current_setting('application_name') AS app,
                to_regclass('pg_temp.rrm_leftover') IS NULL AS no_temp,
                pg_current_xact_id_if_assigned() IS NULL AS no_tx`,
      )
      assert.equal(rows[0].pid, pid, 'the same connection was reused')
      assert.notEqual(rows[0].app, 'dirty', 'settings were reset')
      assert.equal(rows[0].no_temp, true, 'temp tables were dropped')
      assert.equal(rows[0].no_tx, true, 'no transaction carried over')
      // Statements cached before the reset still work after it.
      assert.equal((await second.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid)
    } finally {
      second.release()
    }
  })

  test('close() lets queries in flight finish, takes no new work, then closes every connection', async () => {
    const m = getReadReplicaManager()
    const inFlight = [
      m.query('SELECT pg_sleep(0.3), 1 AS n'),
      m.query('SELECT pg_sleep(0.2), 2 AS n', [], { route: 'primary' }),
    ]
    const closing = m.close()
    await assert.rejects(m.query('SELECT 1'), /Read replica manager is closed/)
    const results = await Promise.all(inFlight)
    assert.deepEqual(
      results.map((r) => r.rows[0].n),
      [1, 2],
    )
    await closing
    const { rows } = await pool().query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'read-replica-manager'",
    )
    assert.equal(rows[0].n, 0, 'no connection left on the primary')
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  })

  test('after close every call rejects clearly', async () => {
    const m = getReadReplicaManager()
    await m.close()
    assert.throws(() => getReadReplicaManager(), /not initialized/)
    await assert.rejects(m.query('SELECT 1'), /Read replica manager is closed/)
    await assert.rejects(m.getClient('read'), /Read replica manager is closed/)
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
    assert.notEqual(manager, m)
  })
})

describe('replicas down at start', () => {
  test('initialize succeeds; a replica that cannot be reached starts unhealthy and reads use the rest', async () => {
    await closeReadReplicaManager()
    const dead = { ...replicaConfigs[0], port: 1 } // nothing listens on port 1
    const manager = await initializeReadReplicaManager(primaryConfig, [dead, replicaConfigs[1]], {
      healthCheckTimeout: 2000,
    })
    try {
      const status = manager.getReplicaStatus()
      assert.equal(status.replica_0.healthy, false)
      assert.equal(status.replica_0.failureCount, 1)
      assert.equal(status.replica_1.healthy, true)
      assert.equal(manager.getMetrics().healthCheckFailures, 1)
      for (let i = 0; i < 4; i++) assert.equal(await servedBy(manager), REPLICA_PORTS[1])
      assert.ok(!JSON.stringify(manager.getMetrics()).includes(PASSWORD))
    } finally {
      await closeReadReplicaManager()
    }
  })

  test('with no healthy replica, reads go to the primary and count as failovers', async () => {
    const manager = await initializeReadReplicaManager(primaryConfig, [{ ...replicaConfigs[0], port: 1 }])
    try {
      const before = manager.getMetrics().replicaFailovers
      assert.equal(await servedBy(manager), PRIMARY_PORT)
      assert.equal(manager.getMetrics().replicaFailovers, before + 1)
    } finally {
      await closeReadReplicaManager()
    }
  })

  test('connection failures carry a node-style code and no password', async () => {
    const manager = await initializeReadReplicaManager({ ...primaryConfig, port: 1 }, [], {
      connectionTimeoutMillis: 2000,
    })
    try {
      const err = await manager.query('SELECT 1').catch((e) => e)
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'ECONNREFUSED')
      assert.match(err.message, /primary \(127\.0\.0\.1:1\)/)
      assert.ok(!err.message.includes(PASSWORD))
    } finally {
      await closeReadReplicaManager()
    }
  })
})
