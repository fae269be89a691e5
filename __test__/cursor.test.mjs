// Cursors (README, "Large results"): manager.cursor() and client.cursor() against the real
// primary and replicas — the same rows as manager.query() and pg, routed as query() routes,
// connections returned however the cursor ends, read(n) as pg-cursor's (pg-cursor is the
// oracle), failover only before the first row, and pg Submittables refused by query().
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import pg from 'pg'
import PgCursor from 'pg-cursor'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PRIMARY_PORT, REPLICA_PORTS, replicated, waitFor } from './helpers.mjs'

/** The manager's connections are told apart from everyone else's (another suite may share the cluster). */
const APP = 'rrm-cursor-test'
const { primaryConfig: primary, replicaConfigs: replicas } = configs()
const primaryConfig = { ...primary, application_name: APP }
const replicaConfigs = replicas.map((r) => ({ ...r, application_name: APP }))

let manager
let pool

/** Every column type family the value table has (README, "Results, types and errors"), NULLs, server text. */
const MIXED = `SELECT g AS int4, g::int8 * 1000000007 AS int8, g::numeric / 7 AS numeric, (g * 1.5)::float8 AS float8,
    (g * 0.25)::float4 AS float4, 'row ' || g AS text, g % 2 = 0 AS bool, md5(g::text)::uuid AS uuid,
    timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour' AS timestamptz,
    timestamp '2024-01-01 00:00:00' + g * interval '1 minute' AS timestamp, date '2024-01-01' + g AS date,
    g * interval '1 minute 30 seconds' AS interval, jsonb_build_object('g', g, 'list', jsonb_build_array(g, 'x')) AS jsonb,
    decode(lpad(to_hex(g % 256), 2, '0'), 'hex') AS bytea, ARRAY[g, NULL, g + 1] AS int4_array,
    CASE WHEN g % 3 = 0 THEN NULL ELSE g END AS maybe_null, (g || '.25')::money AS money,
    int4range(g, g + 10) AS int4range, ('10.0.' || (g % 256) || '.1')::inet AS inet, point(g, -g) AS point
  FROM generate_series(1, $1::int) g`

/** Open transactions of this suite's connections, on every server. */
async function idleInTransaction() {
  const counts = await Promise.all(
    [PRIMARY_PORT, ...REPLICA_PORTS].map((port) =>
      manager.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        [APP],
        { route: port === PRIMARY_PORT ? 'primary' : 'replica' },
      ),
    ),
  )
  return counts.reduce((n, r) => n + r.rows[0].n, 0)
}

/** Waits until none of this suite's connections is left in a transaction. */
const noneLeftInTransaction = () =>
  waitFor('no connection idle in transaction', async () => (await idleInTransaction()) === 0, 5000)

before(async () => {
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  pool = new pg.Pool({ ...primary, max: 2 })
  await pool.query('DROP TABLE IF EXISTS cursor_items')
  await pool.query('CREATE TABLE cursor_items (id int PRIMARY KEY, n int NOT NULL)')
  await pool.query('INSERT INTO cursor_items SELECT g, 0 FROM generate_series(1, 20) g')
  await replicated(manager)
})

after(async () => {
  await pool?.query('DROP TABLE IF EXISTS cursor_items')
  await pool?.end()
  await closeReadReplicaManager()
})

/** Every row of `cursor`, read through `for await`. */
async function drain(cursor) {
  const rows = []
  for await (const row of cursor) rows.push(row)
  return rows
}

/** The rejection `promise` settles with. */
const rejection = (promise) =>
  promise.then(
    (value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (err) => err,
  )

describe('rows', () => {
  test('equal manager.query()’s and pg’s for a statement of mixed types, whatever the batch size', async () => {
    const expected = (await manager.query(MIXED, [250])).rows
    const oracle = (await pool.query(MIXED, [250])).rows
    assert.deepEqual(expected, oracle, 'manager.query() agrees with pg')
    for (const batchSize of [1, 7, 100, 250, 1000]) {
      assert.deepEqual(await drain(manager.cursor(MIXED, [250], { batchSize })), expected, `batchSize ${batchSize}`)
    }
  })

  test('fields, rowMode: array and query configs as query() has them', async () => {
    const result = await manager.query({ text: MIXED, values: [5], rowMode: 'array' })
    const cursor = manager.cursor(MIXED, [5], { rowMode: 'array' })
    assert.equal(cursor.fields, null, 'unknown before the first read')
    assert.deepEqual(await cursor.read(10), result.rows)
    assert.deepEqual(cursor.fields, result.fields)
    assert.deepEqual(await drain(manager.cursor({ text: MIXED, values: [5], rowMode: 'array' })), result.rows)
  })

  test('a statement without rows, and one whose rows end on a batch boundary', async () => {
    assert.deepEqual(await drain(manager.cursor('SELECT 1 AS x WHERE false')), [])
    const cursor = manager.cursor('SELECT g FROM generate_series(1, 4) g', [], { batchSize: 2 })
    assert.deepEqual(await drain(cursor), [{ g: 1 }, { g: 2 }, { g: 3 }, { g: 4 }])
  })
})

describe('routing', () => {
  test('a read runs on a replica, in one transaction; a locking read and UPDATE … RETURNING on the primary', async () => {
    const read = await drain(
      manager.cursor(
        'SELECT inet_server_port() AS port, txid_current_if_assigned() AS x, pg_is_in_recovery() AS standby FROM generate_series(1, 30)',
        [],
        {
          batchSize: 4,
        },
      ),
    )
    assert.equal(new Set(read.map((r) => r.port)).size, 1, 'one connection for every batch')
    assert.ok(REPLICA_PORTS.includes(read[0].port), `served by ${read[0].port}`)
    assert.ok(read[0].standby)

    const locking = await drain(manager.cursor('SELECT id, inet_server_port() AS port FROM cursor_items FOR UPDATE'))
    assert.equal(locking.length, 20)
    assert.ok(locking.every((r) => r.port === PRIMARY_PORT))

    const before = manager.getMetrics().writeQueries
    const updated = await drain(
      manager.cursor('UPDATE cursor_items SET n = n + 1 RETURNING id, n, inet_server_port() AS port', [], {
        batchSize: 3,
      }),
    )
    assert.equal(updated.length, 20)
    assert.ok(updated.every((r) => r.port === PRIMARY_PORT && r.n === 1))
    assert.equal(manager.getMetrics().writeQueries, before + 1, 'counted as query() counts it')
    const { rows } = await pool.query('SELECT sum(n)::int AS total FROM cursor_items')
    assert.equal(rows[0].total, 20, 'committed when the rows ran out')
  })

  test('a write cursor closed early commits what its statement did', async () => {
    const cursor = manager.cursor('UPDATE cursor_items SET n = n + 1 RETURNING id', [], { batchSize: 2 })
    assert.equal((await cursor.read()).length, 2)
    await cursor.close()
    const { rows } = await pool.query('SELECT sum(n)::int AS total FROM cursor_items')
    assert.equal(rows[0].total, 40)
  })

  test('the route override, as query() takes it', async () => {
    const [onPrimary] = await drain(manager.cursor('SELECT inet_server_port() AS port', [], { route: 'primary' }))
    assert.equal(onPrimary.port, PRIMARY_PORT)
    const [onReplica] = await drain(manager.cursor('SELECT inet_server_port() AS port', [], { route: 'replica' }))
    assert.ok(REPLICA_PORTS.includes(onReplica.port))
  })

  test('transaction control is refused as query() refuses it; bad arguments throw', async () => {
    const err = await rejection(manager.cursor('BEGIN').read())
    assert.equal(err.code, 'ERR_RRM_TRANSACTION_CONTROL')
    assert.throws(() => manager.cursor(42), { code: 'ERR_INVALID_ARG_TYPE', message: /cursor\(text\)/ })
    assert.throws(() => manager.cursor('SELECT 1', [], { batchSize: 0 }), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /options\.batchSize/,
    })
    assert.throws(() => manager.cursor('SELECT 1', [], { route: 'elsewhere' }), { code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(manager.cursor('SELECT 1').read(0), { code: 'ERR_INVALID_ARG_TYPE', message: /cursor\.read/ })
  })
})

describe('ending', () => {
  test('leaving a for await early returns the connection: nothing is left idle in transaction', async () => {
    let seen = 0
    for await (const row of manager.cursor('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 50 })) {
      seen = row.g
      if (seen === 120) break
    }
    assert.equal(seen, 120)
    await noneLeftInTransaction()
  })

  test('an open cursor holds a transaction; close() ends it, and reads after close give []', async () => {
    const cursor = manager.cursor('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 })
    assert.equal((await cursor.read()).length, 10)
    assert.equal(await idleInTransaction(), 1)
    await cursor.close()
    await cursor.close()
    assert.deepEqual(await cursor.read(), [])
    await noneLeftInTransaction()
  })

  test('an error half-way rejects with query()’s error, every read after it too, and rolls back', async () => {
    const sql = 'SELECT g, 1 / (g - 25) AS q FROM generate_series(1, 50) g'
    const fromQuery = await rejection(manager.query(sql))
    const cursor = manager.cursor(sql, [], { batchSize: 10 })
    assert.equal((await cursor.read()).length, 10)
    assert.equal((await cursor.read()).length, 10)
    const err = await rejection(cursor.read())
    assert.equal(err.code, '22012')
    for (const key of ['message', 'name', 'severity', 'code', 'file', 'routine']) {
      assert.equal(err[key], fromQuery[key], key)
    }
    assert.equal(await rejection(cursor.read()), err, 'the same error again')
    await cursor.close()
    await noneLeftInTransaction()

    const thrown = await rejection(drain(manager.cursor(sql, [], { batchSize: 7 })))
    assert.equal(thrown.code, '22012', 'for await throws it')
    const missing = await rejection(manager.cursor('SELECT * FROM no_such_table').read())
    assert.equal(missing.code, '42P01')
    await noneLeftInTransaction()
  })

  test('a cursor garbage-collected unclosed returns its connection', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc')
    let cursors = []
    for (let i = 0; i < 3; i++) {
      cursors.push(manager.cursor('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 }))
      await cursors[i].read()
    }
    assert.equal(await idleInTransaction(), 3)
    cursors = null
    await waitFor(
      'the abandoned cursors to end',
      async () => {
        gc()
        return (await idleInTransaction()) === 0
      },
      10_000,
    )
  })
})

describe('read(n), with pg-cursor as the oracle', { timeout: 30_000 }, () => {
  /** Runs `steps` on a pg-cursor and on a manager cursor over the same statement, and returns both outcomes. */
  async function both(sql, values, steps) {
    const client = new pg.Client(primary)
    await client.connect()
    try {
      const theirs = client.query(new PgCursor(sql, values))
      const ours = manager.cursor(sql, values)
      const outcome = async (cursor) => {
        const out = []
        for (const step of steps) {
          try {
            out.push(await step(cursor))
          } catch (err) {
            out.push({ error: err.code })
          }
        }
        return out
      }
      // Not theirs.close(): after an error pg-cursor's close() never settles; end() ends it.
      const [a, b] = [await outcome(theirs), await outcome(ours)]
      await ours.close()
      return [a, b]
    } finally {
      await client.end()
    }
  }

  const SQL = 'SELECT g, g * 2 AS twice FROM generate_series(1, 10) g'
  const read = (n) => (c) => c.read(n)

  test('uneven reads, reads past the end, a boundary at the end', async () => {
    const [theirs, ours] = await both(SQL, [], [read(3), read(3), read(10), read(10), read(1)])
    assert.deepEqual(ours, theirs)
    assert.deepEqual(
      ours.map((rows) => rows.length),
      [3, 3, 4, 0, 0],
    )
    const [theirs2, ours2] = await both(SQL, [], [read(5), read(5), read(5), read(5)])
    assert.deepEqual(ours2, theirs2)
  })

  test('reads issued together are answered in call order (pg-cursor leaves all but the first unanswered)', async () => {
    const cursor = manager.cursor(SQL)
    const together = await Promise.all([cursor.read(4), cursor.read(4), cursor.read(4), cursor.read(4)])
    const [theirs] = await both(SQL, [], [read(4), read(4), read(4), read(4)])
    assert.deepEqual(together, theirs)
  })

  test('parameters, and an error that every later read repeats', async () => {
    const sql = 'SELECT g, 10 / (g - $1::int) AS q FROM generate_series(1, 10) g'
    const [theirs, ours] = await both(sql, [6], [read(3), read(3), read(3), read(3)])
    assert.deepEqual(ours, theirs)
    assert.deepEqual(ours.slice(2), [{ error: '22012' }, { error: '22012' }])
  })

  test('close() part-way, then read', async () => {
    const [theirs, ours] = await both(SQL, [], [read(2), (c) => c.close(), read(2)])
    assert.deepEqual(ours, theirs)
  })
})

describe('on a client from getClient()', () => {
  test('inside its transaction: sees its uncommitted rows; its later queries wait for the cursor', async () => {
    const client = await manager.getClient('write')
    try {
      await client.query('BEGIN')
      await client.query('INSERT INTO cursor_items VALUES (100, 7), (101, 7)')
      const cursor = client.cursor('SELECT id FROM cursor_items WHERE n = $1 ORDER BY id', [7], { batchSize: 1 })
      const counted = client.query('SELECT count(*)::int AS n FROM cursor_items')
      let answered = false
      counted.then(() => {
        answered = true
      })
      assert.deepEqual(await cursor.read(), [{ id: 100 }])
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(answered, false, 'the query waits for the cursor')
      assert.deepEqual(await cursor.read(5), [{ id: 101 }])
      assert.equal((await counted).rows[0].n, 22)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM cursor_items')
    assert.equal(rows[0].n, 20, 'the cursor left the transaction to its client')
  })

  test('outside a transaction: one of its own for the cursor’s life; the client works on afterwards', async () => {
    const client = await manager.getClient('read')
    try {
      const rows = await drain(
        client.cursor(
          'SELECT g, txid_current_if_assigned() IS NULL AS no_xid, now() AS t FROM generate_series(1, 9) g',
          [],
          {
            batchSize: 2,
          },
        ),
      )
      assert.equal(rows.length, 9)
      assert.equal(new Set(rows.map((r) => r.t.getTime())).size, 1, 'one transaction')
      assert.equal(await idleInTransaction(), 0, 'ended with the cursor')
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])

      // A transaction statement that failed leaves the client unsure whether one is open:
      // the server is asked, and the cursor does not take a transaction it did not begin.
      await assert.rejects(client.query('BEGIN ISOLATION LEVEL SOMETIMES'), { code: '42601' })
      assert.equal(
        (await drain(client.cursor('SELECT g FROM generate_series(1, 5) g', [], { batchSize: 2 }))).length,
        5,
      )
      assert.equal(await idleInTransaction(), 0, 'no transaction left open')
    } finally {
      client.release()
    }
  })

  test('release() ends a cursor still open, and the connection goes back clean', async () => {
    const client = await manager.getClient('read')
    const cursor = client.cursor('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 })
    assert.equal((await cursor.read()).length, 10)
    client.release()
    assert.deepEqual(await cursor.read(), [])
    await noneLeftInTransaction()
  })

  test('an error ends the cursor and lets the queue go on', async () => {
    const client = await manager.getClient('read')
    try {
      const cursor = client.cursor('SELECT 1 / (g - 3) FROM generate_series(1, 5) g', [], { batchSize: 1 })
      const next = client.query('SELECT 1 AS one')
      await cursor.read()
      await cursor.read()
      assert.equal((await rejection(cursor.read())).code, '22012')
      assert.deepEqual((await next).rows, [{ one: 1 }])
      const err = await rejection(client.cursor('COMMIT').read())
      assert.equal(err.code, 'ERR_RRM_UNSUPPORTED')
    } finally {
      client.release()
    }
  })
})

describe('pg Submittables', () => {
  test('passed to query() reject, naming manager.cursor()', async () => {
    const err = await rejection(manager.query(new PgCursor('SELECT 1')))
    assert.ok(err instanceof TypeError)
    assert.equal(err.code, 'ERR_RRM_UNSUPPORTED')
    assert.match(err.message, /manager\.cursor\(/)
    // pg-query-stream's shape: any object with a submit function.
    const stream = { text: 'SELECT 1', submit() {} }
    const client = await manager.getClient('read')
    try {
      const clientErr = await rejection(client.query(stream))
      assert.equal(clientErr.code, 'ERR_RRM_UNSUPPORTED')
      assert.match(clientErr.message, /client\.query\(\).*manager\.cursor\(/)
    } finally {
      client.release()
    }
  })
})

/** A TCP proxy to `port` that can drop its connections and refuse new ones. */
async function proxy(port) {
  const sockets = new Set()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) return client.destroy()
    const upstream = net.connect(port, '127.0.0.1')
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
    /** Drops every connection, and refuses new ones while `refuse`. */
    cut(refuse) {
      refusing = refuse
      for (const s of sockets) s.destroy()
    },
    close() {
      this.cut(true)
      server.close()
    },
  }
}

describe('failures of the replica', () => {
  test('before the first row: opened on the primary, as a failed read is; after it: an error, never run again', async () => {
    const replica = await proxy(REPLICA_PORTS[0])
    await closeReadReplicaManager()
    manager = await initializeReadReplicaManager(primaryConfig, [{ ...replicaConfigs[0], port: replica.port }], {
      healthCheckInterval: 600_000,
    })
    try {
      const sql = 'SELECT g, inet_server_port() AS port FROM generate_series(1, 100) g'
      const whole = manager.cursor(sql, [], { batchSize: 10 })
      assert.equal((await whole.read())[0].port, REPLICA_PORTS[0], 'through the proxy')

      // The replica goes away while still counted healthy: the cursor opens on the primary.
      const failovers = manager.getMetrics().replicaFailovers
      replica.cut(true)
      const rows = await drain(manager.cursor(sql, [], { batchSize: 10 }))
      assert.equal(rows.length, 100)
      assert.ok(rows.every((r) => r.port === PRIMARY_PORT))
      assert.equal(manager.getMetrics().replicaFailovers, failovers + 1)

      // The first cursor had handed out rows from the replica: its connection is gone, and
      // its next read fails instead of starting again elsewhere.
      const err = await rejection(whole.read())
      assert.match(err.code, /^E[A-Z]+$/, `a connection error, got ${err.code}: ${err.message}`)
      assert.equal(manager.getMetrics().replicaFailovers, failovers + 1)
    } finally {
      replica.close()
    }
  })

  test('closing the manager ends its open cursors', async () => {
    await closeReadReplicaManager()
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
    const cursor = manager.cursor('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 })
    await cursor.read()
    const late = manager.cursor('SELECT 1')
    await closeReadReplicaManager()
    assert.equal((await rejection(cursor.read())).code, 'ERR_RRM_CLOSED')
    assert.equal((await rejection(late.read())).code, 'ERR_RRM_CLOSED')
    await cursor.close()
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
      [APP],
    )
    assert.equal(rows[0].n, 0)
    manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  })
})
