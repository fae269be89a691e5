// manager.pg — node-postgres's module bound to the manager (README, "ORMs and node-postgres code"),
// against the real primary and two streaming replicas, with node-postgres itself as the oracle
// wherever pg defines the behaviour.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PRIMARY_PORT, REPLICA_PORTS, replicated, waitFor } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
let manager
/** node-postgres on the primary: the oracle. */
let oracle

before(async () => {
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  await replicated(manager)
  oracle = new pg.Pool({ ...primaryConfig, max: 4 })
  await oracle.query('CREATE TABLE IF NOT EXISTS rrm_pg_t (id serial PRIMARY KEY, v text)')
  await waitFor('the table on the replicas', async () => {
    const counts = await Promise.all(
      REPLICA_PORTS.map(async (port) => {
        const c = new pg.Client({ ...primaryConfig, port })
        await c.connect()
        const { rows } = await c.query("SELECT to_regclass('rrm_pg_t') IS NOT NULL AS ok")
        await c.end()
        return rows[0].ok
      }),
    )
    return counts.every(Boolean)
  })
})

after(async () => {
  await oracle.end()
  await manager.close()
})

/** Port and backend of the server that ran a statement on `queryable`. */
async function where(queryable) {
  const { rows } = await queryable.query('SELECT inet_server_port() AS port, pg_backend_pid() AS pid')
  return rows[0]
}

const isReplica = (port) => REPLICA_PORTS.includes(port)

describe('the module', () => {
  test('has the members of pg that libraries read', () => {
    const m = manager.pg
    assert.equal(manager.pg, m, 'one module per manager')
    for (const key of ['Pool', 'Client', 'TypeOverrides', 'DatabaseError', 'escapeIdentifier', 'escapeLiteral']) {
      assert.equal(typeof m[key], 'function', key)
    }
    for (const key of ['getTypeParser', 'setTypeParser']) assert.equal(typeof m.types[key], 'function', key)
    assert.equal(m.types.arrayParser, pg.types.arrayParser)
    assert.deepEqual(m.types.builtins, pg.types.builtins)
    assert.equal(m.native, null)
    // Drizzle tells a pool from a client by its class name; TypeORM looks for the setter.
    assert.match(new m.Pool().constructor.name, /Pool/)
    assert.equal(typeof Object.getOwnPropertyDescriptor(m.defaults, 'parseInt8')?.set, 'function')
  })

  test('escapeIdentifier and escapeLiteral are pg’s, character for character', () => {
    for (const s of ['plain', "it's", 'back\\slash', '"quoted"', 'mix\'\\"', '', 'ünï😀']) {
      assert.equal(manager.pg.escapeIdentifier(s), pg.escapeIdentifier(s), s)
      assert.equal(manager.pg.escapeLiteral(s), pg.escapeLiteral(s), s)
    }
    assert.equal(manager.pg.escapeLiteral(null), pg.escapeLiteral(null))
  })

  test('server errors are DatabaseErrors with pg’s fields', async () => {
    const pool = new manager.pg.Pool()
    const ours = await pool.query('SELECT * FROM no_such_table').catch((e) => e)
    const theirs = await oracle.query('SELECT * FROM no_such_table').catch((e) => e)
    assert.ok(ours instanceof manager.pg.DatabaseError)
    assert.ok(!(new Error('x') instanceof manager.pg.DatabaseError))
    for (const key of ['message', 'code', 'severity', 'position']) assert.equal(ours[key], theirs[key], key)
  })
})

describe('Pool', () => {
  test('routes each query as manager.query does', async () => {
    const pool = new manager.pg.Pool({ host: 'ignored', max: 3 })
    assert.ok(isReplica((await where(pool)).port))
    const { rows } = await pool.query('SELECT inet_server_port() AS port FROM pg_class LIMIT 1 FOR UPDATE')
    assert.equal(rows[0].port, PRIMARY_PORT)
    const cte = await pool.query(
      'WITH x AS (INSERT INTO rrm_pg_t (v) VALUES ($1) RETURNING v) SELECT inet_server_port() AS port, v FROM x',
      ['cte'],
    )
    assert.deepEqual(cte.rows, [{ port: PRIMARY_PORT, v: 'cte' }])
    await pool.end()
  })

  test('connect() gives clients; events and counts as pg-pool’s', async () => {
    const pool = new manager.pg.Pool()
    const seen = []
    for (const event of ['connect', 'acquire', 'remove']) pool.on(event, (client) => seen.push([event, client]))
    pool.on('release', (err, client) => seen.push(['release', client, err]))
    const a = await pool.connect()
    const b = await new Promise((resolve, reject) =>
      pool.connect((err, client, release) => {
        if (err) return reject(err)
        assert.equal(release, client.release)
        resolve(client)
      }),
    )
    assert.deepEqual([pool.totalCount, pool.idleCount, pool.waitingCount], [2, 0, 0])
    a.release()
    assert.deepEqual([pool.totalCount, pool.idleCount], [2, 1])
    const failure = new Error('broken')
    b.release(failure)
    assert.deepEqual([pool.totalCount, pool.idleCount], [1, 1])
    const again = await pool.connect()
    assert.equal(again, a, 'an idle client is reused')
    again.release()
    assert.deepEqual(
      seen.map(([event, client, err]) => [event, client === a ? 'a' : 'b', err?.message]),
      [
        ['connect', 'a', undefined],
        ['acquire', 'a', undefined],
        ['connect', 'b', undefined],
        ['acquire', 'b', undefined],
        ['release', 'a', undefined],
        ['release', 'b', 'broken'],
        ['remove', 'b', undefined],
        ['acquire', 'a', undefined],
        ['release', 'a', undefined],
      ],
    )
    // With client listeners, pool.query checks a client out and back, as pg-pool does.
    seen.length = 0
    await pool.query('SELECT 1')
    assert.deepEqual(
      seen.map(([event]) => event),
      ['acquire', 'release'],
    )
    await pool.end()
  })

  test('a real pg.Pool given manager.pg.Client routes too, and reuses its clients', async () => {
    const pool = new pg.Pool({ Client: manager.pg.Client, max: 2 })
    let connects = 0
    pool.on('connect', () => connects++)
    for (let i = 0; i < 4; i++) assert.ok(isReplica((await where(pool)).port))
    const client = await pool.connect()
    await client.query('BEGIN')
    assert.equal((await where(client)).port, PRIMARY_PORT)
    await client.query('ROLLBACK')
    client.release()
    assert.equal(connects, 1, 'pg-pool kept and reused one client')
    await pool.end()
  })
})

describe('Client: a routing session', () => {
  test('outside a transaction statements are routed one by one', async () => {
    const client = await new manager.pg.Pool().connect()
    const ports = new Set()
    for (let i = 0; i < 6; i++) ports.add((await where(client)).port)
    assert.ok([...ports].every(isReplica))
    const { rows } = await client.query('INSERT INTO rrm_pg_t (v) VALUES ($1) RETURNING inet_server_port() AS port', [
      'w',
    ])
    assert.equal(rows[0].port, PRIMARY_PORT)
    client.release()
  })

  for (const [begin, extra] of [
    ['begin', null],
    ['BEGIN;', null],
    ['BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE;', null],
    ['START TRANSACTION', 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ'],
    ['start transaction isolation level read committed', null],
  ]) {
    test(`${begin} holds one primary connection until COMMIT`, async () => {
      const client = await new manager.pg.Pool().connect()
      await client.query(begin)
      if (extra) await client.query(extra)
      const first = await where(client)
      await client.query('SAVEPOINT sp1')
      await client.query('INSERT INTO rrm_pg_t (v) VALUES ($1)', ['tx'])
      await client.query('ROLLBACK TO SAVEPOINT sp1')
      assert.deepEqual(await where(client), first)
      assert.equal(first.port, PRIMARY_PORT)
      const commit = await client.query('COMMIT')
      assert.equal(commit.command, 'COMMIT')
      assert.ok(isReplica((await where(client)).port), 'routed again after COMMIT')
      client.release()
    })
  }

  test('a READ ONLY transaction may hold a replica (not a SERIALIZABLE one: standbys refuse it)', async () => {
    const client = await new manager.pg.Pool().connect()
    for (const [begin, onReplica] of [
      ['BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY;', true],
      ['start transaction read only', true],
      ['start transaction isolation level serializable read only, deferrable', false],
    ]) {
      await client.query(begin)
      const first = await where(client)
      assert.equal(isReplica(first.port), onReplica, begin)
      assert.deepEqual(await where(client), first)
      await client.query('COMMIT')
    }
    client.release()
  })

  test('session settings follow the client everywhere and reach no one else', async () => {
    const pool = new manager.pg.Pool()
    const client = await pool.connect()
    await client.query('SET search_path TO pg_catalog, public')
    await client.query("SET TIME ZONE 'America/New_York'")
    await client.query("SELECT set_config('application_name', 'rrm-settings', false)")
    const settings =
      "SELECT inet_server_port() AS port, current_setting('TimeZone') AS tz, current_setting('search_path') AS sp, current_setting('application_name') AS app"
    const expected = { tz: 'America/New_York', sp: 'pg_catalog, public', app: 'rrm-settings' }
    const ports = new Set()
    for (let i = 0; i < 4; i++) {
      const { port, ...rest } = (await client.query(settings)).rows[0]
      ports.add(port)
      assert.deepEqual(rest, expected)
    }
    assert.ok(ports.size >= 2, 'seen on more than one replica')
    await client.query('BEGIN')
    const inside = (await client.query(settings)).rows[0]
    assert.equal(inside.port, PRIMARY_PORT)
    assert.equal(inside.tz, expected.tz)
    await client.query("SET TIME ZONE 'Asia/Tokyo'")
    await client.query('ROLLBACK')
    assert.equal((await client.query(settings)).rows[0].tz, expected.tz, 'a rolled-back SET is undone')
    // Nothing leaked: other clients and plain queries see the server's defaults.
    const other = await pool.connect()
    const plain = await oracle.query("SELECT current_setting('TimeZone') AS tz")
    for (let i = 0; i < 6; i++) {
      for (const q of [other, pool]) {
        const row = (await q.query(settings)).rows[0]
        assert.equal(row.tz, plain.rows[0].tz)
        assert.notEqual(row.app, 'rrm-settings')
      }
    }
    await client.query('RESET TIME ZONE')
    assert.equal((await client.query(settings)).rows[0].tz, plain.rows[0].tz)
    // A setting the server refuses fails as pg's does, and is not kept.
    const refused = await client.query('SET no_such_setting_at_all = 1').catch((e) => e)
    assert.equal(refused.code, '42704')
    assert.equal((await client.query(settings)).rows[0].sp, expected.sp)
    other.release()
    client.release()
    // Released: the next user of the client starts from the defaults.
    const reused = await pool.connect()
    assert.equal((await reused.query(settings)).rows[0].sp, (await oracle.query(settings)).rows[0].sp)
    reused.release()
    await pool.end()
  })

  test('a SET through manager.query reaches no later user of its connection', async () => {
    for (let i = 0; i < 4; i++) await manager.query("SET application_name = 'rrm-leak'")
    for (let i = 0; i < 12; i++) {
      const { rows } = await manager.query("SELECT current_setting('application_name') AS app", [], {
        route: 'primary',
      })
      assert.notEqual(rows[0].app, 'rrm-leak')
    }
  })

  test('state that cannot move holds the primary until release', async () => {
    for (const statement of [
      'LISTEN rrm_channel',
      'CREATE TEMP TABLE rrm_temp (a int)',
      'SELECT pg_advisory_lock(4242)',
      'PREPARE rrm_prepared AS SELECT 1',
    ]) {
      const pool = new manager.pg.Pool()
      const client = await pool.connect()
      await client.query(statement)
      const first = await where(client)
      assert.equal(first.port, PRIMARY_PORT, statement)
      for (let i = 0; i < 3; i++) assert.deepEqual(await where(client), first, statement)
      client.release()
      const next = await pool.connect()
      assert.ok(isReplica((await where(next)).port), `${statement}: the next user is routed`)
      next.release()
      await pool.end()
    }
    // The session lock went with the session: another backend takes it at once.
    const { rows } = await oracle.query('SELECT pg_try_advisory_lock(4242) AS got')
    assert.equal(rows[0].got, true)
    await oracle.query('SELECT pg_advisory_unlock(4242)')
  })

  test('LISTEN / NOTIFY and notices reach the client, as pg’s events, and no other client', async () => {
    const pool = new manager.pg.Pool()
    const listener = await pool.connect()
    const bystander = await pool.connect()
    const oracleClient = await oracle.connect()
    const got = { ours: [], theirs: [], bystander: [] }
    listener.on('notification', (n) => got.ours.push(n))
    oracleClient.on('notification', (n) => got.theirs.push(n))
    bystander.on('notification', (n) => got.bystander.push(n))
    bystander.on('notice', (n) => got.bystander.push(n))
    await listener.query('LISTEN rrm_chan')
    await oracleClient.query('LISTEN rrm_chan')
    await pool.query("NOTIFY rrm_chan, 'one'")
    await bystander.query("SELECT pg_notify('rrm_chan', 'two')")
    await waitFor('both notifications', () => got.ours.length === 2 && got.theirs.length === 2)
    const shape = (n) => ({ name: n.name, channel: n.channel, payload: n.payload, pid: typeof n.processId })
    assert.deepEqual(got.ours.map(shape), got.theirs.map(shape))
    // Notices: from the connection holding the client, and from one a routed statement ran on.
    const notices = []
    listener.on('notice', (n) => notices.push(n))
    const theirNotices = []
    oracleClient.on('notice', (n) => theirNotices.push(n))
    const raise = "DO $$ BEGIN RAISE NOTICE 'rrm says %', 42; END $$"
    await listener.query(raise)
    await oracleClient.query(raise)
    const routed = await pool.connect()
    routed.on('notice', (n) => notices.push(n))
    await routed.query('COMMIT') // "there is no transaction in progress", a WARNING
    await oracleClient.query('COMMIT')
    await waitFor('the notices', () => notices.length === 2 && theirNotices.length === 2)
    const fields = (n) => ({ name: n.name, message: n.message, severity: n.severity, code: n.code })
    assert.deepEqual(notices.map(fields), theirNotices.map(fields))
    // Released (its connection discarded clean), the listener hears nothing more; nothing ever
    // reached the bystander.
    listener.release()
    await new Promise((r) => setTimeout(r, 100))
    await oracleClient.query("NOTIFY rrm_chan, 'three'")
    await waitFor('pg to hear it', () => got.theirs.length === 3)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(got.ours.length, 2)
    assert.deepEqual(got.bystander, [])
    routed.release()
    bystander.release()
    oracleClient.release()
    await pool.end()
  })

  test('pg_cancel_backend(processID) cancels the client’s statement wherever it runs', async () => {
    const pool = new manager.pg.Pool()
    const client = await pool.connect()
    const control = new manager.pg.Client()
    await control.connect()
    // As knex and Kysely cancel: a second client, the first one's processID.
    for (const [before, cancel, values] of [
      [null, 'SELECT pg_cancel_backend($1);', [client.processID]],
      ['BEGIN', `select pg_cancel_backend(${client.processID})`, []],
    ]) {
      if (before) await client.query(before)
      const sleeping = client.query('SELECT pg_sleep(30)')
      await waitFor('the sleep to start', async () => {
        const { rows } = await oracle.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
        )
        const onReplicas = await Promise.all(
          REPLICA_PORTS.map(async (port) => {
            const c = new pg.Client({ ...primaryConfig, port })
            await c.connect()
            const r = await c.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
            )
            await c.end()
            return r.rows[0].n
          }),
        )
        return rows[0].n + onReplicas.reduce((a, b) => a + b, 0) === 1
      })
      const { rows } = await control.query(cancel, values)
      assert.deepEqual(rows, [{ pg_cancel_backend: true }])
      await assert.rejects(sleeping, { code: '57014' })
      if (before) await client.query('ROLLBACK')
    }
    // Nothing running: nothing to cancel. Sent any other way, the key is no backend's.
    assert.deepEqual((await control.query('SELECT pg_cancel_backend($1)', [client.processID])).rows, [
      { pg_cancel_backend: false },
    ])
    const { rows } = await control.query('SELECT pg_cancel_backend($1) AS sent, inet_server_port() AS port', [
      client.processID,
    ])
    assert.deepEqual(rows, [{ sent: false, port: PRIMARY_PORT }])
    client.release()
    await control.end()
    await pool.end()
  })

  test('named statements: prepared once per connection, one text per name, as pg', async () => {
    const client = await new manager.pg.Pool().connect()
    const oracleClient = await oracle.connect()
    const named = { name: 'rrm_named', text: 'SELECT $1::int + 1 AS n', values: [1] }
    for (const c of [client, oracleClient]) {
      assert.deepEqual((await c.query(named)).rows, [{ n: 2 }])
      assert.deepEqual((await c.query({ ...named, values: [2] })).rows, [{ n: 3 }])
    }
    const ours = await client.query({ name: 'rrm_named', text: 'SELECT 2' }).catch((e) => e)
    const theirs = await oracleClient.query({ name: 'rrm_named', text: 'SELECT 2' }).catch((e) => e)
    assert.equal(ours.message, theirs.message)
    client.release()
    oracleClient.release()
  })
})

describe('as pg behaves', () => {
  /** Runs `scenario` with pg's classes and with manager.pg's; both outcomes must match. */
  async function same(scenario) {
    const theirs = await scenario({ Pool: pg.Pool, Client: pg.Client, config: primaryConfig })
    const ours = await scenario({ Pool: manager.pg.Pool, Client: manager.pg.Client, config: primaryConfig })
    assert.deepEqual(ours, theirs)
    return ours
  }
  const outcome = (promise) =>
    promise.then(
      (value) => ({ ok: value === undefined ? 'undefined' : typeof value }),
      (err) => ({ error: err.message, type: err.constructor.name }),
    )

  test('the COMMIT of a failed transaction answers ROLLBACK; a savepoint rollback mends it', async () => {
    await same(async ({ Pool, config }) => {
      const pool = new Pool(config)
      const client = await pool.connect()
      const commands = []
      for (const sql of [
        'BEGIN',
        'SELECT nope',
        'COMMIT',
        'BEGIN',
        'SAVEPOINT a',
        'SELECT nope',
        'ROLLBACK TO SAVEPOINT a',
        'COMMIT',
      ]) {
        commands.push(
          await client.query(sql).then(
            (r) => r.command,
            (e) => e.code,
          ),
        )
      }
      client.release()
      await pool.end()
      return commands
    })
  })

  test('a query after end(), end() twice, connect() twice', async () => {
    const result = await same(async ({ Client, config }) => {
      const client = new Client(config)
      const connected = await outcome(client.connect())
      const reconnect = await outcome(client.connect())
      const ended = await outcome(client.end())
      const afterEnd = await outcome(client.query('SELECT 1'))
      const endTwice = await outcome(client.end())
      return { connected, reconnect, ended, afterEnd, endTwice }
    })
    assert.equal(result.afterEnd.error, 'Client was closed and is not queryable')
  })

  test('release twice throws; a released client (not destroyed) still answers', async () => {
    await same(async ({ Pool, config }) => {
      const pool = new Pool({ ...config, max: 1 })
      const client = await pool.connect()
      client.release()
      let twice
      try {
        client.release()
      } catch (err) {
        twice = err.message
      }
      const after = await outcome(client.query('SELECT 1'))
      const destroyed = await pool.connect()
      destroyed.release(true)
      const afterDestroy = await outcome(destroyed.query('SELECT 1'))
      await pool.end()
      const endTwice = await outcome(pool.end())
      const connectAfterEnd = await outcome(pool.connect())
      return { twice, after, afterDestroy, endTwice, connectAfterEnd }
    })
  })

  test('callbacks: results, errors, and what is thrown at once', async () => {
    await same(async ({ Pool, config }) => {
      const pool = new Pool(config)
      const viaCallback = (fn) => new Promise((resolve) => fn((err, res) => resolve(err ? err.message : res.rows)))
      const rows = await viaCallback((cb) => pool.query('SELECT $1::int AS a', [7], cb))
      const error = await viaCallback((cb) => pool.query('SELECT nope', cb))
      const client = await pool.connect()
      const onClient = await viaCallback((cb) => client.query({ text: 'SELECT 2 AS b' }, cb))
      const thrown = []
      for (const call of [
        () => client.query(null),
        () => client.query(undefined),
        () => client.query('SELECT 1', [], 5),
      ]) {
        try {
          call()
        } catch (err) {
          thrown.push(`${err.constructor.name}: ${err.message}`)
        }
      }
      const badValues = await outcome(client.query('SELECT $1', 'not an array'))
      client.release()
      const ended = await new Promise((resolve) => pool.end(() => resolve('ended')))
      return { rows, error, onClient, thrown, badValues, ended }
    })
  })
})

describe('type parsers', () => {
  /** Expressions whose text depends on the type and on the session's DateStyle, TimeZone, IntervalStyle. */
  const expressions = [
    "'2024-02-29 13:14:15.123456+02'::timestamptz",
    "'2024-02-29 13:14:15'::timestamp",
    "'infinity'::timestamptz",
    "'2024-02-29'::date",
    "'1 year 2 mons 3 days 04:05:06.7'::interval",
    '12345678901234::int8',
    "'123.4500'::numeric",
    '1.5::float4',
    '0.1::float8',
    'true',
    "'\\xdeadbeef'::bytea",
    '\'{"a": [1, 2]}\'::jsonb',
    "'[1,5)'::int4range",
    "ARRAY['2024-01-01 00:00:00+00'::timestamptz]",
    'ARRAY[1.5, NULL]::numeric[]',
    "ARRAY['a b', 'c\"d']",
    "'(1,2)'::point",
    "'12:34:56'::time",
    "'$1,234.50'::money",
    "'00000000-0000-0000-0000-000000000001'::uuid",
  ]
  const sql = `SELECT ${expressions.map((e, i) => `${e} AS c${i}`).join(', ')}`
  /** A parser source that hands every value back tagged, so the text itself is compared. */
  const tagged = { getTypeParser: (oid) => (text) => `${oid}|${text}` }

  for (const session of [
    [],
    ["SET TIME ZONE 'America/New_York'", "SET DateStyle TO 'SQL, DMY'", "SET IntervalStyle TO 'iso_8601'"],
  ]) {
    test(`a custom parser gets exactly pg’s text${session.length ? ' under other session settings' : ''}`, async () => {
      const oracleClient = await oracle.connect()
      const client = await new manager.pg.Pool().connect()
      for (const statement of session) {
        await oracleClient.query(statement)
        await client.query(statement)
      }
      const theirs = await oracleClient.query({ text: sql, types: tagged })
      const ours = await client.query({ text: sql, types: tagged })
      assert.deepEqual(ours.rows, theirs.rows)
      assert.deepEqual(
        ours.fields.map((f) => f.dataTypeID),
        theirs.fields.map((f) => f.dataTypeID),
      )
      for (const statement of session.length ? ['RESET ALL'] : []) await oracleClient.query(statement)
      oracleClient.release()
      client.release()
    })
  }

  test('per pool and client (TypeOverrides), per module (types.setTypeParser), and parseInt8', async () => {
    const overrides = new manager.pg.TypeOverrides()
    overrides.setTypeParser(1700, 'text', parseFloat)
    const pool = new manager.pg.Pool({ types: overrides })
    assert.deepEqual((await pool.query('SELECT 1.25::numeric AS n, 2::int8 AS i')).rows, [{ n: 1.25, i: '2' }])
    const plain = new manager.pg.Pool()
    // A wide result (packed by the native side): the custom parser sees each value's text.
    const wide = await pool.query('SELECT g * 1.25::numeric AS n, g::int8 AS i FROM generate_series(1, 10) g')
    assert.deepEqual(
      wide.rows,
      Array.from({ length: 10 }, (_, k) => ({ n: (k + 1) * 1.25, i: String(k + 1) })),
    )
    assert.deepEqual((await plain.query('SELECT 1.25::numeric AS n')).rows, [{ n: '1.25' }], 'only that pool')
    manager.pg.defaults.parseInt8 = true
    assert.deepEqual((await plain.query('SELECT 2::int8 AS i, ARRAY[3, 4]::int8[] AS a')).rows, [{ i: 2, a: [3, 4] }])
    manager.pg.defaults.parseInt8 = false
    assert.deepEqual((await plain.query('SELECT 2::int8 AS i')).rows, [{ i: '2' }])
    manager.pg.types.setTypeParser(1184, (text) => `at ${text}`)
    const { rows } = await plain.query("SELECT '2024-01-01 00:00:00+00'::timestamptz AS t")
    assert.match(rows[0].t, /^at 2024-01-0[12] /)
    const wideAt = await plain.query(
      "SELECT '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 day' AS t FROM generate_series(1, 9) g",
    )
    assert.equal(wideAt.rows.length, 9)
    for (const row of wideAt.rows) assert.match(row.t, /^at 2024-01-\d\d /)
    manager.pg.types.setTypeParser(1184, pg.types.getTypeParser(1184))
    assert.ok((await plain.query('SELECT now() AS t')).rows[0].t instanceof Date, 'back to the default')
    // Without custom parsers, results are manager.query's exactly.
    const mixed = "SELECT now()::date AS d, 1::int8 AS i, '{\"a\":1}'::json AS j, '1 day'::interval AS v"
    assert.deepEqual((await plain.query(mixed)).rows, (await manager.query(mixed)).rows)
    await pool.end()
    await plain.end()
  })
})

test('a pg-cursor given to query() is served by the client’s cursor, as pg serves it', async () => {
  const { default: Cursor } = await import('pg-cursor')
  const sql = 'SELECT g, inet_server_port() AS port FROM generate_series(1, 5) g'
  const readAll = async (client) => {
    const cursor = client.query(new Cursor(sql))
    const batches = []
    for (;;) {
      const rows = await cursor.read(2)
      if (rows.length === 0) break
      batches.push(rows.map((r) => r.g))
    }
    const viaCallback = await new Promise((resolve, reject) =>
      cursor.read(1, (err, rows) => (err ? reject(err) : resolve(rows))),
    )
    await cursor.close()
    return { batches, viaCallback }
  }
  const ours = await new manager.pg.Pool().connect()
  const theirs = await oracle.connect()
  const got = await readAll(ours)
  assert.deepEqual(got.batches, (await readAll(theirs)).batches)
  assert.deepEqual(got.batches, [[1, 2], [3, 4], [5]])
  // In a transaction it runs on the held primary connection, and sees the transaction's writes.
  await ours.query('BEGIN')
  await ours.query('INSERT INTO rrm_pg_t (v) VALUES ($1)', ['in-tx'])
  const cursor = ours.query(new Cursor("SELECT v, inet_server_port() AS port FROM rrm_pg_t WHERE v = 'in-tx'"))
  const rows = await cursor.read(10)
  await cursor.close()
  assert.deepEqual(rows, [{ v: 'in-tx', port: PRIMARY_PORT }])
  await ours.query('ROLLBACK')
  ours.release()
  theirs.release()
})

test('a pg-cursor-like object is refused, naming manager.cursor', async () => {
  const client = await new manager.pg.Pool().connect()
  const submittable = { text: 'SELECT 1', submit() {} }
  await assert.rejects(client.query(submittable), { code: 'ERR_RRM_UNSUPPORTED', message: /manager\.cursor/ })
  client.release()
})
