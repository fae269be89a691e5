// Sequelize v6 with `dialectModule: manager.pg`: its own pool of routing clients (each set up with
// SETs and per-client type parsers), sync(), finders and include (eager loading) on replicas,
// writes, managed transactions, findOrCreate and a data-modifying CTE on the primary, and values
// equal to Sequelize's on plain pg.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DataTypes, QueryTypes, Sequelize, Transaction } from 'sequelize'
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

const TABLES = ['orm_sequelize_posts', 'orm_sequelize_users']

/**
 * The recipe. Sequelize builds each connection's config from host/port/database/username/password
 * (defaults: localhost:5432), so give it the primary's: manager.pg ignores them or checks them
 * against its members.
 */
function open(dialectModule) {
  const sequelize = new Sequelize({
    dialect: 'postgres',
    ...(dialectModule ? { dialectModule } : {}),
    host: primary.host,
    port: primary.port,
    database: primary.database,
    username: primary.user,
    password: primary.password,
    timezone: '+02:00', // a SET TIME ZONE on each new connection
    logging: false,
    // Connections are made before the counted reads (warm()): each new one sends its SETs.
    pool: { max: 3, min: 3, idle: 600_000 },
  })
  const User = sequelize.define(
    'User',
    {
      id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.TEXT, allowNull: false, unique: true },
      birthday: DataTypes.DATEONLY,
      balance: DataTypes.DECIMAL(12, 2),
      profile: DataTypes.JSONB,
    },
    { tableName: 'orm_sequelize_users', underscored: true },
  )
  const Post = sequelize.define(
    'Post',
    { title: { type: DataTypes.TEXT, allowNull: false } },
    { tableName: 'orm_sequelize_posts', underscored: true, timestamps: false },
  )
  User.hasMany(Post, { as: 'posts', foreignKey: 'userId' })
  Post.belongsTo(User, { as: 'author', foreignKey: 'userId' })
  return { sequelize, User, Post }
}

/** Opens every pooled connection, so that no SETs of a new connection run inside a counted read. */
const warm = (sequelize) => Promise.all([1, 2, 3].map(() => sequelize.query('SELECT pg_sleep(0.05)')))
const port = async (sequelize, options) =>
  (await sequelize.query('SELECT inet_server_port() AS port', { type: QueryTypes.SELECT, ...options }))[0].port
const plain = (instance) => instance.get({ plain: true })

let manager
let orm
let ada
before(async () => {
  const started = await start()
  manager = started.manager
  orm = open(started.driver)
  await dropTables(manager, ...TABLES)
})
after(async () => {
  await orm?.sequelize.close()
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('sync() creates the tables (in a session: it reads the catalog right after its DDL)', async () => {
  await manager.withSession(() => orm.sequelize.sync())
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_sequelize_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    TABLES,
  )
})

test('creates run on the primary and come back as Sequelize maps them', async () => {
  const { User, Post } = orm
  ada = await counted(manager, 'write', () =>
    User.create({ name: 'Ada', birthday: '1815-12-10', balance: '1234.50', profile: { langs: ['en'], n: 1 } }),
  )
  assert.equal(typeof ada.id, 'string') // BIGINT
  assert.ok(ada.createdAt instanceof Date)
  await counted(manager, 'write', () => User.bulkCreate([{ name: 'Grace', birthday: '1906-12-09', balance: '-0.05' }]))
  await counted(manager, 'write', () =>
    Post.bulkCreate([
      { userId: ada.id, title: 'Notes' },
      { userId: ada.id, title: 'Sketch of the Analytical Engine' },
    ]),
  )
  const [affected] = await counted(manager, 'write', () =>
    User.update({ balance: '0.00' }, { where: { name: 'Grace' } }),
  )
  assert.equal(affected, 1)
})

test('reads run on a replica: finders, include (eager loading), raw queries', async () => {
  const { sequelize, User, Post } = orm
  await warm(sequelize)
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(sequelize)), 'sequelize.query(SELECT inet_server_port())')
  const found = await counted(manager, 'read', () => User.findByPk(ada.id))
  assert.equal(found.birthday, '1815-12-10') // DATEONLY: a string, through Sequelize's own parser
  assert.equal(found.balance, '1234.50')
  assert.deepEqual(found.profile, { langs: ['en'], n: 1 })
  assert.ok(found.createdAt instanceof Date)
  assert.equal(found.createdAt.getTime(), ada.createdAt.getTime())
  const withPosts = await counted(manager, 'read', () =>
    User.findOne({ where: { name: 'Ada' }, include: [{ model: Post, as: 'posts' }], order: [['posts', 'id', 'ASC']] }),
  )
  assert.deepEqual(
    withPosts.posts.map((p) => p.title),
    ['Notes', 'Sketch of the Analytical Engine'],
  )
  const authored = await counted(manager, 'read', () =>
    Post.findAll({ include: [{ model: User, as: 'author' }], order: [['id', 'ASC']] }),
  )
  assert.deepEqual(
    authored.map((p) => p.author.name),
    ['Ada', 'Ada'],
  )
  assert.equal(await counted(manager, 'read', () => User.count()), 2)
})

test("each connection's SET TIME ZONE holds on the replicas too", async () => {
  const { sequelize } = orm
  const [{ TimeZone: zone }] = await counted(manager, 'read', () =>
    sequelize.query('SHOW TIME ZONE', { type: QueryTypes.SELECT }),
  )
  assert.equal(zone, '<+02>-02')
  const [{ offset }] = await sequelize.query("SELECT to_char(now(), 'TZH:TZM') AS offset", { type: QueryTypes.SELECT })
  assert.equal(offset, '+02:00')
})

test('sequelize.transaction() runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const { sequelize, User } = orm
  const seen = await counted(manager, 'pinned', () =>
    sequelize.transaction(async (transaction) => {
      const first = await port(sequelize, { transaction })
      const bob = await User.create({ name: 'Bob' }, { transaction })
      const again = await User.findByPk(bob.id, { transaction })
      return { first, bob: plain(bob), again: plain(again), last: await port(sequelize, { transaction }) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.equal(seen.again.name, 'Bob')
  assert.equal(seen.again.id, seen.bob.id)

  await assert.rejects(
    sequelize.transaction(async (transaction) => {
      await User.create({ name: 'Ghost' }, { transaction })
      throw new Error('boom')
    }),
    /boom/,
  )
  // An isolation level (SET TRANSACTION after START TRANSACTION) and a nested transaction (a savepoint).
  const level = await sequelize.transaction(
    { isolationLevel: Transaction.ISOLATION_LEVELS.SERIALIZABLE },
    async (t) => {
      await User.create({ name: 'Outer' }, { transaction: t })
      await sequelize
        .transaction({ transaction: t }, async (inner) => {
          await User.create({ name: 'Inner' }, { transaction: inner })
          throw new Error('inner')
        })
        .catch(() => {})
      return sequelize.query('SHOW transaction_isolation', { type: QueryTypes.SELECT, transaction: t })
    },
  )
  assert.deepEqual(level, [{ transaction_isolation: 'serializable' }])
  // An unmanaged transaction, committed by hand.
  const t = await sequelize.transaction()
  await User.create({ name: 'Manual' }, { transaction: t })
  assertPrimary(await port(sequelize, { transaction: t }), 'an unmanaged transaction')
  await t.commit()
  const names = await onPrimary(
    manager,
    "SELECT name FROM orm_sequelize_users WHERE name IN ('Ghost', 'Outer', 'Inner', 'Manual') ORDER BY id",
  )
  assert.deepEqual(
    names.map((n) => n.name),
    ['Outer', 'Manual'],
  )
})

test('findOrCreate (a pg_temp function in a transaction) runs on the primary; reads still go to replicas after it', async () => {
  const { sequelize, User } = orm
  const [created, isNew] = await counted(manager, 'pinned', () =>
    User.findOrCreate({ where: { name: 'Linus' }, defaults: { balance: '7.00' } }),
  )
  assert.equal(isNew, true)
  assert.equal(created.balance, '7.00')
  const [existing, again] = await counted(manager, 'pinned', () => User.findOrCreate({ where: { name: 'Linus' } }))
  assert.equal(again, false)
  assert.equal(existing.id, created.id)
  // Every pooled connection (max 3) still reads from a replica: pg_temp.testfunc was dropped.
  const ports = await Promise.all([1, 2, 3, 4, 5, 6].map(() => counted(manager, 'read', () => port(sequelize))))
  for (const p of ports) assertReplica(p, 'a read on a connection that ran findOrCreate')
})

test('a data-modifying CTE through sequelize.query runs on the primary', async () => {
  const { sequelize } = orm
  const rows = await counted(manager, 'write', () =>
    sequelize.query(
      `WITH x AS (INSERT INTO orm_sequelize_users (name, created_at, updated_at) VALUES ($1, now(), now())
         RETURNING id, inet_server_port() AS port)
       SELECT id, port FROM x`,
      { bind: ['Cte'], type: QueryTypes.SELECT },
    ),
  )
  assertPrimary(rows[0].port, 'a data-modifying CTE')
})

test('the values equal those of Sequelize on plain pg (the oracle)', async () => {
  await replicated(manager)
  const oracle = open(null)
  try {
    const query = ({ User, Post }) =>
      User.findAll({ where: { name: 'Ada' }, include: [{ model: Post, as: 'posts' }], order: [['posts', 'id', 'ASC']] })
    const viaManager = (await counted(manager, 'read', () => query(orm))).map(plain)
    const viaPg = (await query(oracle)).map(plain)
    assert.deepEqual(viaManager, viaPg)
    assert.deepEqual(shape(viaManager[0]), {
      id: 'string',
      name: 'string',
      birthday: 'string',
      balance: 'string',
      profile: { langs: ['string'], n: 'number' },
      createdAt: 'Date',
      updatedAt: 'Date',
      posts: [
        { id: 'number', title: 'string', userId: 'string' },
        { id: 'number', title: 'string', userId: 'string' },
      ],
    })
    const zone = (s) => s.query('SHOW TIME ZONE', { type: QueryTypes.SELECT })
    assert.deepEqual(await zone(orm.sequelize), await zone(oracle.sequelize))
  } finally {
    await oracle.sequelize.close()
  }
})
