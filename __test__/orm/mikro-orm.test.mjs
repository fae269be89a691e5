// MikroORM 7 (@mikro-orm/postgresql, on Kysely and pg) with `driverOptions: { Client:
// manager.pg.Client }`: MikroORM keeps its own pg.Pool, type parsers and session hooks, and the
// pool's connections are routing clients. The schema generator, finders with populate on
// replicas, flush (a transaction), native inserts/updates, em.transactional() and a
// data-modifying CTE on the primary, and values equal to MikroORM's on plain pg.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { BigIntType, EntitySchema, MikroORM, raw, wrap } from '@mikro-orm/postgresql'
import {
  assertPrimary,
  assertReplica,
  counted,
  dropTables,
  onPrimary,
  primary,
  replicated,
  shape,
  start,
  stop,
} from './common.mjs'

const TABLES = ['orm_mikro_posts', 'orm_mikro_users']

const User = new EntitySchema({
  name: 'OrmMikroUser',
  tableName: 'orm_mikro_users',
  properties: {
    id: { type: new BigIntType('bigint'), primary: true, autoincrement: true },
    name: { type: 'text' },
    createdAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'created_at', onCreate: () => new Date() },
    birthday: { type: 'date', nullable: true },
    balance: { type: 'decimal', precision: 12, scale: 2, nullable: true },
    profile: { type: 'json', nullable: true },
    posts: { kind: '1:m', entity: () => 'OrmMikroPost', mappedBy: 'author', orderBy: { id: 'asc' } },
  },
})
const Post = new EntitySchema({
  name: 'OrmMikroPost',
  tableName: 'orm_mikro_posts',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    title: { type: 'text' },
    author: { kind: 'm:1', entity: () => 'OrmMikroUser', fieldName: 'user_id' },
  },
})

/**
 * The recipe: MikroORM builds its pg.Pool from its own settings plus `driverOptions`, so
 * `{ Client: manager.pg.Client }` makes every pooled connection a routing client. The settings
 * are the primary's (manager.pg ignores them or checks them against its members).
 */
function init(Client) {
  return MikroORM.init({
    entities: [User, Post],
    dbName: primary.database,
    host: primary.host,
    port: primary.port,
    user: primary.user,
    password: primary.password,
    ...(Client ? { driverOptions: { Client } } : {}),
    ensureDatabase: false,
    debug: false,
  })
}

const port = async (em) => (await em.execute('SELECT inet_server_port() AS port'))[0].port
const pojo = (entity) => wrap(entity).toPOJO()
const withPosts = (em) => em.find(User, { name: 'Ada' }, { populate: ['posts'] })

let manager
let orm
let ada
before(async () => {
  const started = await start()
  manager = started.manager
  await dropTables(manager, ...TABLES)
  orm = await init(started.driver.Client)
})
after(async () => {
  await orm?.close(true)
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('the schema generator creates the tables (in a session: it reads the catalog around its DDL)', async () => {
  await manager.withSession(() => orm.schema.create())
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_mikro_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    TABLES,
  )
})

test('flush (a transaction), native inserts and updates run on the primary; values as MikroORM maps them', async () => {
  const em = orm.em.fork()
  ada = em.create(User, { name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: { langs: ['en'], n: 1 } })
  em.create(Post, { title: 'Notes', author: ada })
  em.create(Post, { title: 'Sketch of the Analytical Engine', author: ada })
  await counted(manager, 'pinned', () => em.flush())
  assert.ok(ada.id)
  assert.ok(ada.createdAt instanceof Date)
  const grace = await counted(manager, 'write', () =>
    orm.em.fork().insert(User, { name: 'Grace', birthday: '1906-12-09', balance: '-0.05', createdAt: new Date() }),
  )
  assert.ok(grace) // the new primary key
  const updated = await counted(manager, 'write', () =>
    orm.em.fork().nativeUpdate(User, { name: 'Grace' }, { balance: '0.00' }),
  )
  assert.equal(updated, 1)
})

test('reads run on a replica: finders, populate (eager loading), count, raw SQL', async () => {
  await replicated(manager)
  const em = orm.em.fork()
  assertReplica(await counted(manager, 'read', () => port(em)), 'em.execute(SELECT inet_server_port())')
  const found = await counted(manager, 'read', () => orm.em.fork().findOneOrFail(User, { id: ada.id }))
  assert.equal(typeof found.id, 'bigint') // BigIntType('bigint')
  assert.equal(found.birthday, '1815-12-10') // date: MikroORM's parser keeps the text
  assert.equal(found.balance, '1234.50')
  assert.deepEqual(found.profile, { langs: ['en'], n: 1 })
  assert.equal(found.createdAt.getTime(), ada.createdAt.getTime())
  const [user] = await counted(manager, 'read', () => withPosts(orm.em.fork()))
  assert.deepEqual(
    user.posts.getItems().map((p) => p.title),
    ['Notes', 'Sketch of the Analytical Engine'],
  )
  assert.equal(await counted(manager, 'read', () => orm.em.fork().count(User)), 2)
  const qb = orm.em
    .fork()
    .createQueryBuilder(Post, 'p')
    .select(['p.title', raw('inet_server_port() as port')])
    .orderBy({ id: 'asc' })
  const rows = await counted(manager, 'read', () => qb.execute())
  assertReplica(rows[0].port, 'a query-builder read')
})

test('em.transactional() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    orm.em.fork().transactional(async (em) => {
      const first = await port(em)
      const bob = em.create(User, { name: 'Bob' })
      await em.flush()
      em.clear()
      const again = await em.findOne(User, { id: bob.id })
      return { first, id: bob.id, again, last: await port(em) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.equal(seen.again?.name, 'Bob', 'a read in the transaction saw its write')

  await assert.rejects(
    orm.em.fork().transactional(async (em) => {
      em.create(User, { name: 'Ghost' })
      await em.flush()
      throw new Error('boom')
    }),
    /boom/,
  )
  // An isolation level, and a nested transaction (a savepoint) rolled back.
  const level = await orm.em.fork().transactional(
    async (em) => {
      em.create(User, { name: 'Outer' })
      await em.flush()
      await em
        .transactional(async (inner) => {
          inner.create(User, { name: 'Inner' })
          await inner.flush()
          throw new Error('inner')
        })
        .catch(() => {})
      return (await em.execute('SHOW transaction_isolation'))[0].transaction_isolation
    },
    { isolationLevel: 'serializable' },
  )
  assert.equal(level, 'serializable')
  const names = await onPrimary(
    manager,
    "SELECT name FROM orm_mikro_users WHERE name IN ('Ghost', 'Outer', 'Inner') ORDER BY id",
  )
  assert.deepEqual(
    names.map((n) => n.name),
    ['Outer'],
  )
})

test('a data-modifying CTE through em.execute runs on the primary', async () => {
  const rows = await counted(manager, 'write', () =>
    orm.em.fork().execute(
      `WITH x AS (INSERT INTO orm_mikro_users (name, created_at) VALUES (?, now()) RETURNING id, inet_server_port() AS port)
         SELECT id, port FROM x`,
      ['Cte'],
    ),
  )
  assertPrimary(rows[0].port, 'a data-modifying CTE')
})

test('the values equal those of MikroORM on plain pg (the oracle)', async () => {
  await replicated(manager)
  const oracle = await init(null)
  try {
    const viaManager = (await counted(manager, 'read', () => withPosts(orm.em.fork()))).map(pojo)
    const viaPg = (await withPosts(oracle.em.fork())).map(pojo)
    assert.deepEqual(viaManager, viaPg)
    assert.deepEqual(shape(viaManager[0]), {
      id: 'string', // toPOJO() serializes bigints
      name: 'string',
      createdAt: 'Date',
      birthday: 'string',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      posts: [
        {
          id: 'number',
          title: 'string',
          author: {
            id: 'string',
            name: 'string',
            createdAt: 'Date',
            birthday: 'string',
            balance: 'string',
            profile: { langs: ['string'], n: 'number' },
          },
        },
        {
          id: 'number',
          title: 'string',
          author: {
            id: 'string',
            name: 'string',
            createdAt: 'Date',
            birthday: 'string',
            balance: 'string',
            profile: { langs: ['string'], n: 'number' },
          },
        },
      ],
    })
  } finally {
    await oracle.close(true)
  }
})
