// TypeORM with `driver: manager.pg`: its Pool of routing clients (one per QueryRunner, checked out
// with the callback form of connect), migrations, repositories and relations on replicas, writes
// and dataSource.transaction() / QueryRunner transactions on the primary, a data-modifying CTE
// through dataSource.query on the primary, parseInt8 through pg.defaults, and values equal to
// TypeORM's on plain pg.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DataSource, EntitySchema } from 'typeorm'
import {
  assertPrimary,
  assertReplica,
  counted,
  dropTables,
  inSession,
  onPrimary,
  primary,
  replicated,
  STANDIN,
  shape,
  start,
  stop,
} from './common.mjs'

const TABLES = ['orm_typeorm_posts', 'orm_typeorm_users', 'orm_typeorm_migrations']

const User = new EntitySchema({
  name: 'OrmTypeormUser',
  tableName: 'orm_typeorm_users',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    name: { type: 'text' },
    createdAt: { type: 'timestamptz', name: 'created_at', createDate: true },
    birthday: { type: 'date', nullable: true },
    balance: { type: 'numeric', precision: 12, scale: 2, nullable: true },
    profile: { type: 'jsonb', nullable: true },
  },
  relations: { posts: { type: 'one-to-many', target: 'OrmTypeormPost', inverseSide: 'author' } },
})
const Post = new EntitySchema({
  name: 'OrmTypeormPost',
  tableName: 'orm_typeorm_posts',
  columns: { id: { type: 'int', primary: true, generated: 'increment' }, title: { type: 'text' } },
  relations: {
    author: { type: 'many-to-one', target: 'OrmTypeormUser', inverseSide: 'posts', joinColumn: { name: 'user_id' } },
  },
})

class OrmTypeormInit1767225600000 {
  async up(queryRunner) {
    await queryRunner.query(`CREATE TABLE "orm_typeorm_users" ("id" BIGSERIAL NOT NULL, "name" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "birthday" date, "balance" numeric(12,2),
      "profile" jsonb, CONSTRAINT "PK_orm_typeorm_users" PRIMARY KEY ("id"))`)
    await queryRunner.query(`CREATE TABLE "orm_typeorm_posts" ("id" SERIAL NOT NULL, "title" text NOT NULL,
      "user_id" bigint, CONSTRAINT "PK_orm_typeorm_posts" PRIMARY KEY ("id"))`)
    await queryRunner.query(`ALTER TABLE "orm_typeorm_posts" ADD CONSTRAINT "FK_orm_typeorm_posts_user"
      FOREIGN KEY ("user_id") REFERENCES "orm_typeorm_users"("id")`)
  }
  async down(queryRunner) {
    await queryRunner.query('DROP TABLE "orm_typeorm_posts"')
    await queryRunner.query('DROP TABLE "orm_typeorm_users"')
  }
}

/** The recipe: no connection settings — the manager owns them — unless plain pg is the driver. */
function open(driver, options = {}) {
  return new DataSource({
    type: 'postgres',
    ...(driver ? { driver } : primary),
    ...(driver ? {} : { username: primary.user }),
    entities: [User, Post],
    migrations: [OrmTypeormInit1767225600000],
    migrationsTableName: 'orm_typeorm_migrations',
    ...options,
  })
}

const port = async (runner) => (await runner.query('SELECT inet_server_port() AS port'))[0].port
const withPosts = (ds) =>
  ds.getRepository(User).find({ where: { name: 'Ada' }, relations: { posts: true }, order: { posts: { id: 'ASC' } } })

let manager
let pg
let ds
let ada
before(async () => {
  ;({ manager, driver: pg } = await start())
  await dropTables(manager, ...TABLES)
  ds = await open(pg).initialize()
})
after(async () => {
  if (ds?.isInitialized) await ds.destroy()
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('migrations create the tables (in a session: it reads its table right after creating it)', async () => {
  const [ran, token] = await inSession(manager, () => ds.runMigrations())
  assert.deepEqual(
    ran.map((m) => m.name),
    ['OrmTypeormInit1767225600000'],
  )
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_typeorm_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    TABLES.toSorted(),
  )
  // A later session sees the migrations once it starts from their position (its token).
  assert.deepEqual((await inSession(manager, () => ds.runMigrations(), token))[0], [])
})

test('saves (each in a transaction of its own) and inserts run on the primary, and come back as TypeORM maps them', async () => {
  const users = ds.getRepository(User)
  ada = await counted(manager, 'pinned', () =>
    users.save({ name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: { langs: ['en'], n: 1 } }),
  )
  assert.equal(typeof ada.id, 'string') // bigint: pg's string
  assert.ok(ada.createdAt instanceof Date)
  await counted(manager, 'write', () => users.insert({ name: 'Grace', birthday: '1906-12-09', balance: '-0.05' }))
  await counted(manager, 'pinned', () =>
    ds.getRepository(Post).save([
      { title: 'Notes', author: { id: ada.id } },
      { title: 'Sketch of the Analytical Engine', author: { id: ada.id } },
    ]),
  )
  const result = await counted(manager, 'write', () => users.update({ name: 'Grace' }, { balance: '0.00' }))
  assert.equal(result.affected, 1)
})

test('reads run on a replica: repositories, relations, the query builder, raw queries', async () => {
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(ds)), 'dataSource.query(SELECT inet_server_port())')
  const found = await counted(manager, 'read', () => ds.getRepository(User).findOneBy({ id: ada.id }))
  assert.equal(found.birthday, '1815-12-10') // date: TypeORM formats pg's Date as a string
  assert.equal(found.balance, '1234.50')
  assert.deepEqual(found.profile, { langs: ['en'], n: 1 })
  assert.equal(found.createdAt.getTime(), ada.createdAt.getTime())
  const [user] = await counted(manager, 'read', () => withPosts(ds))
  assert.deepEqual(
    user.posts.map((p) => p.title),
    ['Notes', 'Sketch of the Analytical Engine'],
  )
  const rows = await counted(manager, 'read', () =>
    ds
      .getRepository(Post)
      .createQueryBuilder('p')
      .innerJoinAndSelect('p.author', 'u')
      .addSelect('inet_server_port()', 'port')
      .orderBy('p.id')
      .getRawAndEntities(),
  )
  assert.deepEqual(
    rows.entities.map((p) => p.author.name),
    ['Ada', 'Ada'],
  )
  assertReplica(rows.raw[0].port, 'a query-builder join')
  assert.equal(await counted(manager, 'read', () => ds.getRepository(User).count()), 2)
})

test('dataSource.transaction() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    ds.transaction(async (em) => {
      const first = await port(em)
      const bob = await em.getRepository(User).save({ name: 'Bob' })
      const again = await em.getRepository(User).findOneBy({ id: bob.id })
      return { first, bob, again, last: await port(em) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.equal(seen.again.name, 'Bob')

  await assert.rejects(
    ds.transaction(async (em) => {
      await em.getRepository(User).save({ name: 'Ghost' })
      throw new Error('boom')
    }),
    /boom/,
  )
  // A QueryRunner's own transaction with an isolation level, and a nested one (a savepoint).
  const runner = ds.createQueryRunner()
  await runner.connect()
  try {
    await runner.startTransaction('SERIALIZABLE')
    await runner.manager.getRepository(User).save({ name: 'Outer' })
    await runner.startTransaction()
    await runner.manager.getRepository(User).save({ name: 'Inner' })
    await runner.rollbackTransaction()
    const [{ transaction_isolation: level }] = await runner.query('SHOW transaction_isolation')
    assert.equal(level, 'serializable')
    assertPrimary(await port(runner), 'a QueryRunner transaction')
    await runner.commitTransaction()
  } finally {
    await runner.release()
  }
  const names = await onPrimary(
    manager,
    "SELECT name FROM orm_typeorm_users WHERE name IN ('Ghost', 'Outer', 'Inner') ORDER BY id",
  )
  assert.deepEqual(
    names.map((n) => n.name),
    ['Outer'],
  )
})

test('a data-modifying CTE through dataSource.query runs on the primary', async () => {
  const rows = await counted(manager, 'write', () =>
    ds.query(
      `WITH x AS (INSERT INTO orm_typeorm_users (name) VALUES ($1) RETURNING id, inet_server_port() AS port)
       SELECT id, port FROM x`,
      ['Cte'],
    ),
  )
  assertPrimary(rows[0].port, 'a data-modifying CTE')
})

test('the values equal those of TypeORM on plain pg (the oracle)', async () => {
  await replicated(manager)
  const oracle = await open(null).initialize()
  try {
    const viaManager = await counted(manager, 'read', () => withPosts(ds))
    assert.deepEqual(viaManager, await withPosts(oracle))
    assert.deepEqual(shape(viaManager[0]), {
      id: 'string',
      name: 'string',
      createdAt: 'Date',
      birthday: 'string',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      posts: [
        { id: 'number', title: 'string' },
        { id: 'number', title: 'string' },
      ],
    })
  } finally {
    await oracle.destroy()
  }
})

test('parseInt8: TypeORM sets pg.defaults.parseInt8 and int8 values come back as numbers', async () => {
  const setter = Object.getOwnPropertyDescriptor(pg.defaults, 'parseInt8')?.set
  assert.ok(setter || STANDIN, 'manager.pg.defaults has no parseInt8 setter: TypeORM would ignore the option')
  const numeric = await open(pg, { parseInt8: true }).initialize()
  try {
    const [row] = await numeric.query('SELECT 9007199254740991::int8 AS big, inet_server_port() AS port')
    assert.equal(row.big, 9007199254740991)
    const [user] = await numeric.getRepository(User).find({ where: { name: 'Ada' } })
    assert.equal(typeof user.id, 'number')
  } finally {
    pg.defaults.parseInt8 = false
    await numeric.destroy()
  }
  const [row] = await ds.query('SELECT 9007199254740991::int8 AS big')
  assert.equal(row.big, '9007199254740991')
})
