// knex on manager.pg: its postgres dialect with `_driver()` returning `manager.pg`, so knex's own
// tarn pool holds routing clients. Its migrator, the query builder and joins on replicas, writes
// and knex.transaction() on the primary, searchPath replayed on the replicas, a data-modifying CTE
// through knex.raw on the primary, and values equal to knex's on plain pg.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'
import realPg from 'pg'
import { waitFor } from '../helpers.mjs'
import {
  assertPrimary,
  assertReplica,
  counted,
  dropTables,
  inSession,
  onPrimary,
  PRIMARY_PORT,
  primary,
  REPLICA_PORTS,
  replicated,
  shape,
  start,
  stop,
} from './common.mjs'

const require = createRequire(import.meta.url)
const knex = require('knex')
const PostgresClient = require('knex/lib/dialects/postgres')

const TABLES = ['orm_knex_posts', 'orm_knex_users', 'orm_knex_migrations', 'orm_knex_migrations_lock']

const migrations = {
  '20260101000000_init': {
    async up(db) {
      await db.schema.createTable('orm_knex_users', (t) => {
        t.bigIncrements('id')
        t.text('name').notNullable()
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now())
        t.date('birthday')
        t.decimal('balance', 12, 2)
        t.jsonb('profile')
      })
      await db.schema.createTable('orm_knex_posts', (t) => {
        t.increments('id')
        t.bigInteger('user_id').notNullable().references('id').inTable('orm_knex_users')
        t.text('title').notNullable()
      })
    },
    async down(db) {
      await db.schema.dropTable('orm_knex_posts')
      await db.schema.dropTable('orm_knex_users')
    },
  },
}
/** knex's migrationSource interface over the migrations above. */
const migrationSource = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
}

/** The recipe: knex's postgres dialect whose driver is `pg`. */
function replicaKnex(pg, config = {}) {
  class ReplicaClient extends PostgresClient {
    _driver() {
      return pg
    }
  }
  // knex starts its pool and driver only when `connection` is set; the manager owns the real
  // settings, so an empty object does.
  return knex({ client: ReplicaClient, connection: {}, ...config })
}

const port = async (db) => (await db.raw('SELECT inet_server_port() AS port')).rows[0].port
const postsOf = (db) =>
  db('orm_knex_posts as p')
    .join('orm_knex_users as u', 'u.id', 'p.user_id')
    .select('u.id as user_id', 'u.name', 'u.created_at', 'u.birthday', 'u.balance', 'u.profile', 'p.id', 'p.title')
    .orderBy('p.id')

let manager
let pg
let db
let ada
before(async () => {
  ;({ manager, driver: pg } = await start())
  db = replicaKnex(pg)
  await dropTables(manager, ...TABLES)
})
after(async () => {
  await db?.destroy()
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('the migrator creates the tables (in a session: it reads its lock table right after creating it)', async () => {
  const config = { migrationSource, tableName: 'orm_knex_migrations' }
  const [[batch, done], token] = await inSession(manager, () => db.migrate.latest(config))
  assert.equal(batch, 1)
  assert.deepEqual(done, ['20260101000000_init'])
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_knex_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    TABLES.toSorted(),
  )
  assert.deepEqual(await onPrimary(manager, 'SELECT is_locked FROM orm_knex_migrations_lock'), [{ is_locked: 0 }])
  const [[, none]] = await inSession(manager, () => db.migrate.latest(config), token)
  assert.deepEqual(none, [])
})

test('inserts run on the primary and come back as pg parses them', async () => {
  const rows = await counted(manager, 'write', () =>
    db('orm_knex_users')
      .insert([
        { name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: JSON.stringify({ langs: ['en'], n: 1 }) },
        { name: 'Grace', birthday: '1906-12-09', balance: '-0.05', profile: null },
      ])
      .returning('*'),
  )
  ada = rows[0]
  assert.equal(typeof ada.id, 'string')
  assert.ok(ada.created_at instanceof Date)
  assert.ok(ada.birthday instanceof Date)
  assert.equal(ada.balance, '1234.50')
  assert.deepEqual(ada.profile, { langs: ['en'], n: 1 })
  await counted(manager, 'write', () =>
    db('orm_knex_posts').insert([
      { user_id: ada.id, title: 'Notes' },
      { user_id: ada.id, title: 'Sketch of the Analytical Engine' },
    ]),
  )
  // update and delete return rowCount, read from the result's command.
  assert.equal(
    await counted(manager, 'write', () => db('orm_knex_users').where({ name: 'Grace' }).update({ balance: '0.00' })),
    1,
  )
  assert.equal(await counted(manager, 'write', () => db('orm_knex_users').where({ name: 'Nobody' }).del()), 0)
})

test('reads run on a replica: the query builder, first(), a join, raw', async () => {
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(db)), "knex.raw('SELECT inet_server_port()')")
  assert.deepEqual(await counted(manager, 'read', () => db('orm_knex_users').where({ id: ada.id }).first()), ada)
  const joined = await counted(manager, 'read', () => postsOf(db).where('u.id', ada.id))
  assert.deepEqual(
    joined.map((r) => [r.name, r.title]),
    [
      ['Ada', 'Notes'],
      ['Ada', 'Sketch of the Analytical Engine'],
    ],
  )
  const counts = await counted(manager, 'read', () =>
    db('orm_knex_users as u')
      .leftJoin('orm_knex_posts as p', 'p.user_id', 'u.id')
      .groupBy('u.id')
      .select('u.name', db.raw('count(p.id)::int AS posts'), db.raw('inet_server_port() AS port'))
      .orderBy('u.id'),
  )
  assert.deepEqual(
    counts.map((c) => [c.name, c.posts]),
    [
      ['Ada', 2],
      ['Grace', 0],
    ],
  )
  assertReplica(counts[0].port, 'a grouped join')
})

test('knex.transaction() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    db.transaction(async (trx) => {
      const first = await port(trx)
      const [bob] = await trx('orm_knex_users').insert({ name: 'Bob' }).returning('*')
      const again = await trx('orm_knex_users').where({ id: bob.id }).first()
      return { first, bob, again, last: await port(trx) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.deepEqual(seen.again, seen.bob)

  await assert.rejects(
    db.transaction(async (trx) => {
      await trx('orm_knex_users').insert({ name: 'Ghost' })
      throw new Error('boom')
    }),
    /boom/,
  )
  // A nested transaction is a savepoint; its rollback keeps the outer work.
  await db.transaction(async (trx) => {
    await trx('orm_knex_users').insert({ name: 'Outer' })
    await trx
      .transaction(async (inner) => {
        await inner('orm_knex_users').insert({ name: 'Inner' })
        throw new Error('inner')
      })
      .catch(() => {})
  })
  // An explicit transaction object, committed by hand, with an isolation level.
  const trx = await db.transaction({ isolationLevel: 'repeatable read' })
  const level = await trx.raw('SHOW transaction_isolation')
  assertPrimary(await port(trx), 'a transaction object')
  await trx('orm_knex_users').insert({ name: 'Manual' })
  await trx.commit()
  assert.equal(level.rows[0].transaction_isolation, 'repeatable read')
  const names = await onPrimary(
    manager,
    "SELECT name FROM orm_knex_users WHERE name IN ('Ghost', 'Outer', 'Inner', 'Manual') ORDER BY id",
  )
  assert.deepEqual(
    names.map((n) => n.name),
    ['Outer', 'Manual'],
  )
})

test('a read-only transaction may run on a replica, and refuses writes', async () => {
  const where = await db.transaction((trx) => port(trx), { readOnly: true })
  assert.ok([PRIMARY_PORT, ...REPLICA_PORTS].includes(where), `ran on ${where}`)
  await assert.rejects(
    db.transaction((trx) => trx('orm_knex_users').insert({ name: 'Nope' }), { readOnly: true }),
    { code: '25006' },
  )
})

test('a data-modifying CTE runs on the primary: knex.raw and the query builder', async () => {
  const raw = await counted(manager, 'write', () =>
    db.raw(
      `WITH x AS (INSERT INTO orm_knex_users (name) VALUES (?) RETURNING id, inet_server_port() AS port)
      SELECT id, port FROM x`,
      ['Cte'],
    ),
  )
  assertPrimary(raw.rows[0].port, 'a data-modifying CTE')
  const built = await counted(manager, 'write', () =>
    db
      .with('x', (qb) => qb.insert({ name: 'Cte2' }).into('orm_knex_users').returning('id'))
      .select('x.id', db.raw('inet_server_port() AS port'))
      .from('x'),
  )
  assertPrimary(built[0].port, 'a query-builder data-modifying CTE')
})

test('searchPath (a SET on each new connection) holds on replicas too', async () => {
  const scoped = replicaKnex(pg, { searchPath: ['orm_knex_nowhere', 'public'], pool: { min: 0, max: 2 } })
  try {
    await scoped.raw('SELECT 1') // its connection, and the SET, made outside the counted read
    const [{ search_path: path }] = (await counted(manager, 'read', () => scoped.raw('SHOW search_path'))).rows
    assert.equal(path, 'orm_knex_nowhere, public')
    const [{ port: where }] = (await scoped.raw('SELECT inet_server_port() AS port')).rows
    assertReplica(where, 'a read on a connection with a search_path')
    assert.equal((await scoped('orm_knex_users').where({ name: 'Ada' }).first()).name, 'Ada')
  } finally {
    await scoped.destroy()
  }
})

test('a query timeout with cancel: true cancels its own statement (pg_cancel_backend of its processID)', async () => {
  await assert.rejects(db.raw('SELECT pg_sleep(5)').timeout(300, { cancel: true }), { name: 'KnexTimeoutError' })
  // Cancelled where it ran (pg_cancel_backend of the client's processID, on that server).
  await waitFor('the sleep to be cancelled', async () => (await sleepers()) === 0, 1000)
})

/** Backends running `SELECT pg_sleep(5)` on any member. */
async function sleepers() {
  let n = 0
  for (const p of [PRIMARY_PORT, ...REPLICA_PORTS]) {
    const client = new realPg.Client({ ...primary, port: p })
    await client.connect()
    const sql =
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(5)'"
    n += (await client.query(sql)).rows[0].n
    await client.end()
  }
  return n
}

test('the values equal those of knex on plain pg (the oracle)', async () => {
  await replicated(manager)
  const plain = knex({ client: 'pg', connection: primary })
  try {
    const query = (d) => postsOf(d).where('u.name', 'Ada')
    const viaManager = await counted(manager, 'read', () => query(db))
    assert.deepEqual(viaManager, await query(plain))
    assert.deepEqual(shape(viaManager[0]), {
      user_id: 'string',
      name: 'string',
      created_at: 'Date',
      birthday: 'Date',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      id: 'number',
      title: 'string',
    })
  } finally {
    await plain.destroy()
  }
})
