// Drizzle ORM (drizzle-orm/node-postgres) on `new manager.pg.Pool()`: its migrator, the query
// builder and relational queries on replicas, writes and db.transaction() on the primary, a
// data-modifying CTE through db.execute() on the primary (Drizzle's own withReplicas sends it to a
// replica), a named prepared statement, and values equal to Drizzle's on plain pg.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { eq, relations, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import { bigint, bigserial, date, jsonb, numeric, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core'
import pg from 'pg'
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

// The model; drizzle/0000_init.sql is the migration drizzle-kit generates for it.
const users = pgTable('orm_drizzle_users', {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  birthday: date('birthday'),
  balance: numeric('balance', { precision: 12, scale: 2 }),
  profile: jsonb('profile'),
})
const posts = pgTable('orm_drizzle_posts', {
  id: serial('id').primaryKey(),
  userId: bigint('user_id', { mode: 'bigint' })
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
})
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }))
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}))
const schema = { users, posts, usersRelations, postsRelations }

const MIGRATIONS = {
  migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)),
  migrationsSchema: 'orm_drizzle',
  migrationsTable: '__orm_drizzle_migrations',
}

const port = async (db) => (await db.execute(sql`SELECT inet_server_port() AS port`)).rows[0].port

let manager
let pool
let db
let ada
before(async () => {
  const started = await start()
  manager = started.manager
  pool = new started.driver.Pool()
  db = drizzle({ client: pool, schema })
  await dropTables(manager, 'orm_drizzle_posts', 'orm_drizzle_users')
  await manager.query('DROP SCHEMA IF EXISTS orm_drizzle CASCADE')
})
after(async () => {
  await pool?.end()
  if (manager) {
    await dropTables(manager, 'orm_drizzle_posts', 'orm_drizzle_users')
    await manager.query('DROP SCHEMA IF EXISTS orm_drizzle CASCADE')
  }
  await stop()
})

test('the migrator creates the tables (in a session: it reads its journal right after its DDL)', async () => {
  const [, token] = await inSession(manager, () => migrate(db, MIGRATIONS))
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_drizzle_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    ['orm_drizzle_posts', 'orm_drizzle_users'],
  )
  const journal = await onPrimary(manager, 'SELECT count(*)::int AS n FROM orm_drizzle.__orm_drizzle_migrations')
  assert.equal(journal[0].n, 1)
  // Run again (from the first run's position): it finds the migration applied and does nothing.
  await inSession(manager, () => migrate(db, MIGRATIONS), token)
  assert.equal(
    (await onPrimary(manager, 'SELECT count(*)::int AS n FROM orm_drizzle.__orm_drizzle_migrations'))[0].n,
    1,
  )
})

test('inserts run on the primary and come back as Drizzle maps them', async () => {
  const rows = await counted(manager, 'write', () =>
    db
      .insert(users)
      .values([
        { name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: { langs: ['en'], n: 1 } },
        { name: 'Grace', birthday: '1906-12-09', balance: '-0.05', profile: null },
      ])
      .returning(),
  )
  ada = rows[0]
  assert.equal(typeof ada.id, 'bigint')
  assert.ok(ada.createdAt instanceof Date && !Number.isNaN(ada.createdAt.getTime()))
  assert.equal(ada.birthday, '1815-12-10') // date: mode 'string', from pg's raw text
  assert.equal(ada.balance, '1234.50')
  assert.deepEqual(ada.profile, { langs: ['en'], n: 1 })
  assert.equal(rows[1].balance, '-0.05')
  await counted(manager, 'write', () =>
    db.insert(posts).values([
      { userId: ada.id, title: 'Notes' },
      { userId: ada.id, title: 'Sketch of the Analytical Engine' },
    ]),
  )
})

test('reads run on a replica: the query builder, a relational query with its relations, raw SQL', async () => {
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(db)), 'db.execute(SELECT inet_server_port())')
  const found = await counted(manager, 'read', () => db.select().from(users).where(eq(users.id, ada.id)))
  assert.deepEqual(found, [ada])
  const withPosts = await counted(manager, 'read', () =>
    db.query.users.findFirst({ where: eq(users.id, ada.id), with: { posts: { orderBy: posts.id } } }),
  )
  assert.deepEqual(
    withPosts.posts.map((p) => [p.userId, p.title]),
    [
      [ada.id, 'Notes'],
      [ada.id, 'Sketch of the Analytical Engine'],
    ],
  )
  assert.equal(withPosts.createdAt.getTime(), ada.createdAt.getTime())
  const joined = await counted(manager, 'read', () =>
    db
      .select({ name: users.name, title: posts.title, port: sql`inet_server_port()`.mapWith(Number) })
      .from(posts)
      .innerJoin(users, eq(posts.userId, users.id))
      .orderBy(posts.id),
  )
  assert.equal(joined.length, 2)
  assertReplica(joined[0].port, 'a join')
})

test('a named prepared statement runs on a replica, again and again', async () => {
  const byId = db
    .select({ name: users.name, port: sql`inet_server_port()`.mapWith(Number) })
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare('orm_drizzle_user_by_id')
  for (let i = 0; i < 4; i++) {
    const [row] = await counted(manager, 'read', () => byId.execute({ id: ada.id }))
    assert.equal(row.name, 'Ada')
    assertReplica(row.port, 'a prepared statement')
  }
})

test('db.transaction() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    db.transaction(async (tx) => {
      const before = await port(tx)
      const [bob] = await tx.insert(users).values({ name: 'Bob' }).returning()
      const [again] = await tx.select().from(users).where(eq(users.id, bob.id))
      await tx.update(users).set({ balance: '1.00' }).where(eq(users.id, bob.id))
      return { before, bob, again, after: await port(tx) }
    }),
  )
  assertPrimary(seen.before, 'the first statement of a transaction')
  assertPrimary(seen.after, 'the last statement of a transaction')
  assert.deepEqual(seen.again, seen.bob)
  assert.equal(
    (await onPrimary(manager, 'SELECT balance FROM orm_drizzle_users WHERE id = $1', [seen.bob.id]))[0].balance,
    '1.00',
  )

  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Ghost' })
      tx.rollback()
    }),
    { message: 'Rollback' },
  )
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Ghost' })
      throw new Error('boom')
    }),
    /boom/,
  )
  assert.deepEqual(await onPrimary(manager, "SELECT id FROM orm_drizzle_users WHERE name = 'Ghost'"), [])
  // A nested transaction is a savepoint on the same connection.
  const nested = await db.transaction(async (tx) => {
    await tx.insert(users).values({ name: 'Outer' })
    await tx
      .transaction(async (tx2) => {
        await tx2.insert(users).values({ name: 'Inner' })
        tx2.rollback()
      })
      .catch(() => {})
    return tx.select({ name: users.name }).from(users).where(sql`${users.name} IN ('Outer', 'Inner')`)
  })
  assert.deepEqual(nested, [{ name: 'Outer' }])
})

test('a read-only transaction may run on a replica, and refuses writes', async () => {
  const where = await db.transaction((tx) => port(tx), { accessMode: 'read only' })
  assert.ok([PRIMARY_PORT, ...REPLICA_PORTS].includes(where), `ran on ${where}`)
  await assert.rejects(
    db.transaction((tx) => tx.insert(users).values({ name: 'Nope' }), { accessMode: 'read only' }),
    (err) => err.cause?.code === '25006', // DrizzleQueryError wraps the DatabaseError
  )
})

test('a data-modifying CTE through db.execute() runs on the primary', async () => {
  const result = await counted(manager, 'write', () =>
    db.execute(sql`WITH x AS (INSERT INTO orm_drizzle_users (name) VALUES ('Cte') RETURNING id, inet_server_port() AS port)
      SELECT id, port FROM x`),
  )
  assertPrimary(result.rows[0].port, 'a data-modifying CTE')
  assert.equal(result.rowCount, 1)
  assert.equal(typeof result.rows[0].id, 'string') // bigserial through db.execute: pg's int8 text
  // The same through the query builder ($with … insert is a CTE too).
  const cte = db.$with('x').as(db.insert(users).values({ name: 'Cte2' }).returning({ id: users.id }))
  const built = await counted(manager, 'write', () =>
    db
      .with(cte)
      .select({ id: cte.id, port: sql`inet_server_port()`.mapWith(Number) })
      .from(cte),
  )
  assertPrimary(built[0].port, 'a query-builder data-modifying CTE')
})

test('the values equal those of Drizzle on plain pg (the oracle)', async () => {
  await replicated(manager)
  const oracle = new pg.Pool(primary)
  try {
    const plain = drizzle({ client: oracle, schema })
    const query = (d) =>
      d.query.users.findMany({
        with: { posts: { orderBy: posts.id } },
        orderBy: users.id,
        where: eq(users.name, 'Ada'),
      })
    const viaManager = await counted(manager, 'read', () => query(db))
    const viaPg = await query(plain)
    assert.deepEqual(viaManager, viaPg)
    assert.deepEqual(shape(viaManager[0]), {
      id: 'bigint',
      name: 'string',
      createdAt: 'Date',
      birthday: 'string',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      posts: [
        { id: 'number', userId: 'bigint', title: 'string' },
        { id: 'number', userId: 'bigint', title: 'string' },
      ],
    })
    const raw = sql`SELECT now()::timestamptz AS ts, '2020-01-02'::date AS d, 9007199254740993::int8 AS big, '{"a":[1]}'::jsonb AS j`
    assert.deepEqual(shape((await db.execute(raw)).rows[0]), shape((await plain.execute(raw)).rows[0]))
  } finally {
    await oracle.end()
  }
})
