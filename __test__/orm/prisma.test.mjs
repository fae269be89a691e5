// Prisma 7 through @prisma/adapter-pg over a real pg.Pool whose connections are routing clients
// (`new pg.Pool({ Client: manager.pg.Client })`: the adapter takes only a pg.Pool of its own `pg`).
// The client is generated offline (prisma/no-schema-engine says why and how); the tables come from
// prisma/migration.sql. Finders with include on replicas, creates (nested: a transaction),
// interactive and batch transactions on the primary, a data-modifying CTE through $queryRaw on the
// primary, and values equal to Prisma's on plain pg.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import ts from 'typescript'
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

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const TABLES = ['orm_prisma_posts', 'orm_prisma_users']

/**
 * `prisma generate` (schema.prisma's output: TypeScript, CommonJS), then each file transpiled to
 * JavaScript beside it (Node 20 runs no TypeScript). PRISMA_SCHEMA_ENGINE_BINARY keeps the CLI from
 * downloading an engine that generate does not use. Returns the generated module.
 */
function generate() {
  const out = path.join(root, 'node_modules/.cache/rrm-orm-prisma/client')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  execFileSync(
    process.execPath,
    [require.resolve('prisma/build/index.js'), 'generate', '--schema', path.join(here, 'prisma/schema.prisma')],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY:
          process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? path.join(here, 'prisma/no-schema-engine'),
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        CHECKPOINT_DISABLE: '1',
      },
    },
  )
  for (const file of readdirSync(out, { recursive: true })) {
    if (!file.endsWith('.ts')) continue
    const source = readFileSync(path.join(out, file), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    })
    writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), outputText)
  }
  return require(path.join(out, 'client.js'))
}

const port = async (prisma) => (await prisma.$queryRaw`SELECT inet_server_port() AS port`)[0].port
const withPosts = (prisma) =>
  prisma.user.findMany({ where: { name: 'Ada' }, include: { posts: { orderBy: { id: 'asc' } } } })

let manager
let generated
let pool
let prisma
let ada
before(async () => {
  generated = generate()
  const started = await start()
  manager = started.manager
  await dropTables(manager, ...TABLES)
  // The recipe: a real pg.Pool (the adapter checks instanceof) making routing clients.
  pool = new pg.Pool({ Client: started.driver.Client })
  prisma = new generated.PrismaClient({ adapter: new PrismaPg(pool) })
})
after(async () => {
  await prisma?.$disconnect()
  await pool?.end()
  if (manager) await dropTables(manager, ...TABLES)
  await stop()
})

test('the tables come from migration.sql through $executeRawUnsafe (prisma migrate needs the schema engine)', async () => {
  const sql = readFileSync(path.join(here, 'prisma/migration.sql'), 'utf8').replace(/^--.*$/gm, '')
  for (const statement of sql.split(';').filter((s) => s.trim())) {
    await counted(manager, 'write', () => prisma.$executeRawUnsafe(statement))
  }
  const tables = await onPrimary(
    manager,
    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'orm_prisma_%' ORDER BY 1",
  )
  assert.deepEqual(
    tables.map((t) => t.tablename),
    TABLES,
  )
})

test('creates run on the primary and come back as Prisma maps them', async () => {
  ada = await counted(manager, 'pinned', () =>
    prisma.user.create({
      data: {
        name: 'Ada',
        birthday: new Date('1815-12-10T00:00:00Z'),
        balance: '1234.50',
        profile: { langs: ['en'], n: 1 },
        posts: { create: [{ title: 'Notes' }, { title: 'Sketch of the Analytical Engine' }] },
      },
    }),
  )
  assert.equal(typeof ada.id, 'bigint')
  assert.ok(ada.createdAt instanceof Date)
  assert.equal(ada.birthday.toISOString(), '1815-12-10T00:00:00.000Z') // @db.Date: a UTC-midnight Date
  assert.ok(generated.Prisma.Decimal.isDecimal(ada.balance))
  assert.equal(ada.balance.toFixed(2), '1234.50')
  assert.deepEqual(ada.profile, { langs: ['en'], n: 1 })
  const many = await counted(manager, 'pinned', () =>
    prisma.user.createMany({ data: [{ name: 'Grace', birthday: new Date('1906-12-09T00:00:00Z'), balance: '-0.05' }] }),
  )
  assert.equal(many.count, 1)
  const updated = await counted(manager, 'pinned', () =>
    prisma.user.updateMany({ where: { name: 'Grace' }, data: { balance: '0.00' } }),
  )
  assert.equal(updated.count, 1)
})

test('reads run on a replica: findUnique, findMany with include, count, $queryRaw', async () => {
  await replicated(manager)
  assertReplica(await counted(manager, 'read', () => port(prisma)), '$queryRaw`SELECT inet_server_port()`')
  const found = await counted(manager, 'read', () => prisma.user.findUnique({ where: { id: ada.id } }))
  const { posts: _, ...fields } = ada
  assert.deepEqual(found, fields)
  const [user] = await counted(manager, 'read', () => withPosts(prisma))
  assert.deepEqual(
    user.posts.map((p) => [p.userId, p.title]),
    [
      [ada.id, 'Notes'],
      [ada.id, 'Sketch of the Analytical Engine'],
    ],
  )
  const authored = await counted(manager, 'read', () =>
    prisma.post.findMany({ include: { author: true }, orderBy: { id: 'asc' } }),
  )
  assert.deepEqual(
    authored.map((p) => p.author.name),
    ['Ada', 'Ada'],
  )
  assert.equal(await counted(manager, 'read', () => prisma.user.count()), 2)
})

test('$transaction (interactive and batch) runs on the primary: reads in it see its writes; a throw rolls back', async () => {
  const seen = await counted(manager, 'pinned', () =>
    prisma.$transaction(async (tx) => {
      const first = await port(tx)
      const bob = await tx.user.create({ data: { name: 'Bob' } })
      const again = await tx.user.findUnique({ where: { id: bob.id } })
      return { first, bob, again, last: await port(tx) }
    }),
  )
  assertPrimary(seen.first, 'the first statement of a transaction')
  assertPrimary(seen.last, 'the last statement of a transaction')
  assert.deepEqual(seen.again, seen.bob)

  await assert.rejects(
    prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { name: 'Ghost' } })
      throw new Error('boom')
    }),
    /boom/,
  )
  const [level, linus] = await counted(manager, 'pinned', () =>
    prisma.$transaction(
      [prisma.$queryRaw`SHOW transaction_isolation`, prisma.user.create({ data: { name: 'Linus' } })],
      { isolationLevel: 'Serializable' },
    ),
  )
  assert.deepEqual(level, [{ transaction_isolation: 'serializable' }])
  assert.equal(linus.name, 'Linus')
  const names = await onPrimary(manager, "SELECT name FROM orm_prisma_users WHERE name IN ('Ghost', 'Linus')")
  assert.deepEqual(names, [{ name: 'Linus' }])
})

test('a data-modifying CTE through $queryRaw runs on the primary', async () => {
  const rows = await counted(
    manager,
    'write',
    () =>
      prisma.$queryRaw`WITH x AS (INSERT INTO orm_prisma_users (name) VALUES (${'Cte'}) RETURNING id, inet_server_port() AS port)
      SELECT id, port FROM x`,
  )
  assertPrimary(rows[0].port, 'a data-modifying CTE')
  assert.equal(typeof rows[0].id, 'bigint') // $queryRaw maps int8 to BigInt
})

test('the config form, new PrismaPg({ Client: manager.pg.Client }), makes the same pool itself', async () => {
  const own = new generated.PrismaClient({ adapter: new PrismaPg({ Client: pool.Client }) })
  try {
    assertReplica(await counted(manager, 'read', () => port(own)), 'a read through the config form')
    assert.equal((await own.user.findFirst({ where: { name: 'Ada' } })).id, ada.id)
  } finally {
    await own.$disconnect()
  }
})

test('the values equal those of Prisma on plain pg (the oracle)', async () => {
  await replicated(manager)
  const oraclePool = new pg.Pool(primary)
  const oracle = new generated.PrismaClient({ adapter: new PrismaPg(oraclePool) })
  try {
    const viaManager = await counted(manager, 'read', () => withPosts(prisma))
    assert.deepEqual(viaManager, await withPosts(oracle))
    const posts = { id: 'number', title: 'string', userId: 'bigint' }
    assert.deepEqual(shape(viaManager[0]), {
      id: 'bigint',
      name: 'string',
      createdAt: 'Date',
      birthday: 'Date',
      balance: shape(new generated.Prisma.Decimal(1)), // Decimal.js (its class name is minified)
      profile: { langs: ['string'], n: 'number' },
      posts: [posts, posts],
    })
    const raw = (p) =>
      p.$queryRaw`SELECT now()::timestamptz AS ts, '2020-01-02'::date AS d, 9007199254740993::int8 AS big,
        '{"a":[1]}'::jsonb AS j, 1.5::numeric AS n, '12:34:56'::time AS t`
    const [mine, theirs] = [(await raw(prisma))[0], (await raw(oracle))[0]]
    assert.deepEqual(shape(mine), shape(theirs))
    assert.deepEqual({ ...mine, ts: null }, { ...theirs, ts: null })
  } finally {
    await oracle.$disconnect()
    await oraclePool.end()
  }
})
