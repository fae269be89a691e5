// Kysely (PostgresDialect) on `new manager.pg.Pool()`: its Migrator (a session advisory lock and
// a transaction on one connection), the query builder and jsonArrayFrom relations on replicas,
// writes and db.transaction() on the primary, a COMMIT that the server answers with ROLLBACK, a
// data-modifying CTE through sql`` on the primary, and values equal to Kysely's on plain pg.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { AbortedTransactionError, Kysely, PostgresDialect, sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import Cursor from 'pg-cursor'
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

const TABLES = ['orm_kysely_posts', 'orm_kysely_users', 'orm_kysely_migrations', 'orm_kysely_migration_lock']

const migrations = {
  '0001_init': {
    async up(db) {
      await db.schema
        .createTable('orm_kysely_users')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('birthday', 'date')
        .addColumn('balance', 'numeric(12, 2)')
        .addColumn('profile', 'jsonb')
        .execute()
      await db.schema
        .createTable('orm_kysely_posts')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('orm_kysely_users.id'))
        .addColumn('title', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db) {
      await db.schema.dropTable('orm_kysely_posts').execute()
      await db.schema.dropTable('orm_kysely_users').execute()
    },
  },
}

const open = (pool) => new Kysely({ dialect: new PostgresDialect({ pool, cursor: Cursor }) })
const port = async (db) => (await sql`SELECT inet_server_port() AS port`.execute(db)).rows[0].port
const withPosts = (db) =>
  db
    .selectFrom('orm_kysely_users as u')
    .selectAll('u')
    .select((eb) => [
      jsonArrayFrom(
        eb
          .selectFrom('orm_kysely_posts as p')
          .select(['p.id', 'p.title'])
          .whereRef('p.user_id', '=', 'u.id')
          .orderBy('p.id'),
      ).as('posts'),
    ])

let manager
let db
let ada
before(async () => {
  const started = await start()
  manager = started.manager
  db = open(new started.driver.Pool())
  await dropTables(manager, ...TABLES)
})
after(async () => {
  await db?.destroy()
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('the Migrator creates the tables (in a session: it introspects right after its DDL)', async () => {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'orm_kysely_migrations',
    migrationLockTableName: 'orm_kysely_migration_lock',
  })
  const [{ error, results }, token] = await inSession(manager, () => migrator.migrateToLatest())
  assert.ifError(error)
  assert.deepEqual(
    results.map((r) => [r.migrationName, r.status]),
    [['0001_init', 'Success']],
  )
  // Its session advisory lock was released on the connection that took it.
  assert.deepEqual(await onPrimary(manager, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"), [])
  const [again] = await inSession(manager, () => migrator.migrateToLatest(), token)
  assert.ifError(again.error)
  assert.deepEqual(again.results, [])
})

test('inserts run on the primary and come back as pg parses them', async () => {
  const rows = await counted(manager, 'write', () =>
    db
      .insertInto('orm_kysely_users')
      .values([
        { name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: JSON.stringify({ langs: ['en'], n: 1 }) },
        { name: 'Grace', birthday: '1906-12-09', balance: '-0.05', profile: null },
      ])
      .returningAll()
      .execute(),
  )
  ada = rows[0]
  assert.equal(typeof ada.id, 'string') // int8: pg's string
  assert.ok(ada.created_at instanceof Date)
  assert.ok(ada.birthday instanceof Date) // date: pg's local-midnight Date
  assert.equal(ada.birthday.getFullYear(), 1815)
  assert.equal(ada.balance, '1234.50')
  assert.deepEqual(ada.profile, { langs: ['en'], n: 1 })
  const inserted = await counted(manager, 'write', () =>
    db
      .insertInto('orm_kysely_posts')
      .values([
        { user_id: ada.id, title: 'Notes' },
        { user_id: ada.id, title: 'Sketch of the Analytical Engine' },
      ])
      .executeTakeFirst(),
  )
  assert.equal(inserted.numInsertedOrUpdatedRows, 2n)
  const updated = await counted(manager, 'write', () =>
    db.updateTable('orm_kysely_users').set({ balance: '0.00' }).where('name', '=', 'Grace').executeTakeFirst(),
  )
  assert.equal(updated.numUpdatedRows, 1n) // from the result's command and rowCount
})

test('reads run on a replica: the query builder, jsonArrayFrom relations, raw sql', async () => {
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(db)), 'sql`SELECT inet_server_port()`')
  const found = await counted(manager, 'read', () =>
    db.selectFrom('orm_kysely_users').selectAll().where('id', '=', ada.id).executeTakeFirstOrThrow(),
  )
  assert.deepEqual(found, ada)
  const user = await counted(manager, 'read', () => withPosts(db).where('u.id', '=', ada.id).executeTakeFirstOrThrow())
  assert.deepEqual(
    user.posts.map((p) => p.title),
    ['Notes', 'Sketch of the Analytical Engine'],
  )
  const joined = await counted(manager, 'read', () =>
    db
      .selectFrom('orm_kysely_posts as p')
      .innerJoin('orm_kysely_users as u', 'u.id', 'p.user_id')
      .select(['u.name', 'p.title', sql`inet_server_port()`.as('port')])
      .orderBy('p.id')
      .execute(),
  )
  assert.equal(joined.length, 2)
  assertReplica(joined[0].port, 'a join')
})

test('db.transaction() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    db.transaction().execute(async (trx) => {
      const first = await port(trx)
      const bob = await trx.insertInto('orm_kysely_users').values({ name: 'Bob' }).returningAll().executeTakeFirst()
      const again = await trx.selectFrom('orm_kysely_users').selectAll().where('id', '=', bob.id).executeTakeFirst()
      return { first, bob, again, last: await port(trx) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.deepEqual(seen.again, seen.bob)

  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('orm_kysely_users').values({ name: 'Ghost' }).execute()
      throw new Error('boom')
    }),
    /boom/,
  )
  assert.deepEqual(await onPrimary(manager, "SELECT id FROM orm_kysely_users WHERE name = 'Ghost'"), [])

  // Isolation level: `start transaction isolation level serializable`.
  const level = await db
    .transaction()
    .setIsolationLevel('serializable')
    .execute(async (trx) => ({
      port: await port(trx),
      level: (await sql`SHOW transaction_isolation`.execute(trx)).rows,
    }))
  assertPrimary(level.port, 'a serializable transaction')
  assert.deepEqual(level.level, [{ transaction_isolation: 'serializable' }])
})

test('savepoints: a controlled transaction rolls back to one on the same connection', async () => {
  const trx = await db.startTransaction().execute()
  try {
    await trx.insertInto('orm_kysely_users').values({ name: 'Kept' }).execute()
    const sp = await trx.savepoint('sp1').execute()
    await sp.insertInto('orm_kysely_users').values({ name: 'Dropped' }).execute()
    await sp.rollbackToSavepoint('sp1').execute()
    assertPrimary(await port(trx), 'a controlled transaction')
    await trx.commit().execute()
  } catch (err) {
    await trx.rollback().execute()
    throw err
  }
  const names = await onPrimary(manager, "SELECT name FROM orm_kysely_users WHERE name IN ('Kept', 'Dropped')")
  assert.deepEqual(names, [{ name: 'Kept' }])
})

test('a COMMIT the server turns into ROLLBACK rejects (the result command is ROLLBACK)', async () => {
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('orm_kysely_users').values({ name: 'Aborted' }).execute()
      await sql`SELECT 1 / 0`.execute(trx).catch(() => {})
    }),
    AbortedTransactionError,
  )
  assert.deepEqual(await onPrimary(manager, "SELECT id FROM orm_kysely_users WHERE name = 'Aborted'"), [])
})

test('a read-only transaction may run on a replica, and refuses writes', async () => {
  const where = await db
    .transaction()
    .setAccessMode('read only')
    .execute((trx) => port(trx))
  assert.ok([PRIMARY_PORT, ...REPLICA_PORTS].includes(where), `ran on ${where}`)
  await assert.rejects(
    db
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => trx.insertInto('orm_kysely_users').values({ name: 'Nope' }).execute()),
    { code: '25006' },
  )
})

test('a data-modifying CTE runs on the primary: raw sql`` and the query builder', async () => {
  const raw = await counted(manager, 'write', () =>
    sql`WITH x AS (INSERT INTO orm_kysely_users (name) VALUES ('Cte') RETURNING id, inet_server_port() AS port)
      SELECT id, port FROM x`.execute(db),
  )
  assertPrimary(raw.rows[0].port, 'a data-modifying CTE')
  const built = await counted(manager, 'write', () =>
    db
      .with('x', (qb) => qb.insertInto('orm_kysely_users').values({ name: 'Cte2' }).returning('id'))
      .selectFrom('x')
      .select(['x.id', sql`inet_server_port()`.as('port')])
      .execute(),
  )
  assertPrimary(built[0].port, 'a query-builder data-modifying CTE')
})

test('streaming through pg-cursor: served by the client’s cursor, on a replica', async () => {
  await replicated(manager)
  const names = []
  const stream = db
    .selectFrom('orm_kysely_users')
    .select(['name', sql`inet_server_port()`.as('port')])
    .orderBy('id')
    .stream(1)
  for await (const row of stream) {
    names.push(row.name)
    assertReplica(row.port, 'a streamed read')
  }
  assert.deepEqual(names.slice(0, 2), ['Ada', 'Grace'])
  // Leaving early closes it: its connection goes back.
  for await (const row of db.selectFrom('orm_kysely_users').select('name').stream(1)) {
    assert.equal(typeof row.name, 'string')
    break
  }
})

test('the values equal those of Kysely on plain pg (the oracle)', async () => {
  await replicated(manager)
  const plain = open(new pg.Pool(primary))
  try {
    const query = (d) => withPosts(d).where('u.name', '=', 'Ada').execute()
    const viaManager = await counted(manager, 'read', () => query(db))
    assert.deepEqual(viaManager, await query(plain))
    assert.deepEqual(shape(viaManager[0]), {
      id: 'string',
      name: 'string',
      created_at: 'Date',
      birthday: 'Date',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      posts: [
        { id: 'number', title: 'string' },
        { id: 'number', title: 'string' },
      ],
    })
  } finally {
    await plain.destroy()
  }
})
