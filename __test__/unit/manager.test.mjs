// lib/manager.js and lib/client.js over a stand-in for the native binding: what each call sends to
// the native side (the interface of binding.d.ts), how replies and errors come back, and close().
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { ReadReplicaManager } = require('../../lib/manager.js')
const { Client } = require('../../lib/client.js')
const { Dispatcher } = require('../../lib/dispatcher.js')

/** One result as the native side sends it: [command, rowCount, oid, fields (6 per column), columns]. */
const raw = (n) => ['SELECT', 1, null, ['n', 0, 0, 23, 4, -1], [[n]]]

/**
 * A NativeManager stand-in: records every call and answers each query on the next tick with the
 * WAL position `writeLsn(text)` (null by default) — as the binding does, through the dispatcher.
 */
function fakeNative(consistency = 'eventual', writeLsn = () => null) {
  const dispatcher = new Dispatcher()
  const calls = []
  const reply = (id, value) => setImmediate(() => dispatcher.onComplete([id, value]))
  const client = {
    submit(id, text, values, track) {
      calls.push(['client.submit', text, values, track])
      reply(id, [false, writeLsn(text), raw(2)])
    },
    release(destroy) {
      calls.push(['client.release', destroy])
    },
  }
  const native = {
    consistency,
    members: () => [],
    submit(id, text, values, route, strong, minLsn, track) {
      calls.push(['submit', text, values, route, strong, minLsn, track])
      reply(
        id,
        text === 'FAIL' ? Object.assign(new Error('syntax'), { code: '42601' }) : [false, writeLsn(text), raw(1)],
      )
    },
    submitGetClient(id, kind) {
      calls.push(['submitGetClient', kind])
      reply(id, client)
    },
    classify(sql) {
      calls.push(['classify', sql])
      return { route: 'replica', reason: 'select' }
    },
    status: () => ({}),
    metrics: () => ({ readQueries: 0 }),
    prometheus: () => '# none\n',
    async close() {
      calls.push(['close'])
    },
  }
  return { native, dispatcher, calls }
}

const lsnOfWrites = (text) => (text.startsWith('UPDATE') ? text.slice(7) : null)

test('query(): text, prepared values and the router override reach submit; the reply is a pg Result', async () => {
  const { native, dispatcher, calls } = fakeNative()
  const manager = new ReadReplicaManager(native, dispatcher)
  const result = await manager.query('SELECT $1', [7], { route: 'primary' })
  assert.deepEqual(calls, [['submit', 'SELECT $1', ['7'], 'primary', false, null, false]])
  assert.deepEqual(result.rows, [{ n: 1 }])
  assert.equal(result.command, 'SELECT')
  assert.deepEqual((await manager.query({ text: 'SELECT 1', rowMode: 'array' })).rows, [[1]])
  await assert.rejects(manager.query('FAIL'), { code: '42601' })
})

test('consistency: strong and a per-query token reach submit as strong / a BigInt minLsn', async () => {
  const { native, dispatcher, calls } = fakeNative()
  const manager = new ReadReplicaManager(native, dispatcher)
  await manager.query('SELECT 1', [], { consistency: 'strong' })
  await manager.query('SELECT 1', [], { minLsn: '16/B374D848' })
  await manager.query('SELECT 1', [], { minLsn: '16/B374D848', consistency: 'eventual' })
  assert.deepEqual(
    calls.map((c) => c.slice(3)),
    [
      [null, true, null, false],
      [null, false, 0x16b374d848n, false],
      [null, false, null, false],
    ],
  )
})

test("a session's reads carry its last write; the write was tracked; lastWriteLsn gives the token", async () => {
  const { native, dispatcher, calls } = fakeNative('eventual', lsnOfWrites)
  const manager = new ReadReplicaManager(native, dispatcher)
  const token = await manager.withSession(async () => {
    await manager.query('SELECT 1')
    await manager.query('UPDATE 0/4C001470')
    await manager.query('SELECT 2')
    return manager.lastWriteLsn()
  })
  assert.equal(token, '0/4C001470')
  assert.equal(manager.lastWriteLsn(), null, 'no session, no token')
  await manager.query('SELECT 3') // eventual outside the session: no position, not tracked
  assert.deepEqual(
    calls.map((c) => [c[1], ...c.slice(4)]),
    [
      ['SELECT 1', false, null, true],
      ['UPDATE 0/4C001470', false, null, true],
      ['SELECT 2', false, 0x4c001470n, true],
      ['SELECT 3', false, null, false],
    ],
  )
  // A later request that presents the token.
  await manager.withSession(() => manager.query('SELECT 4'), { minLsn: token })
  assert.equal(calls.at(-1)[5], 0x4c001470n)
})

test("consistency 'read-your-writes' by default: outside sessions, reads follow this process's writes", async () => {
  const { native, dispatcher, calls } = fakeNative('read-your-writes', lsnOfWrites)
  const manager = new ReadReplicaManager(native, dispatcher)
  await manager.query('SELECT 1')
  await manager.query('UPDATE 0/10')
  await manager.query('SELECT 2')
  assert.deepEqual(
    calls.map((c) => c.slice(4)),
    [
      [false, null, true],
      [false, null, true],
      [false, 0x10n, true],
    ],
  )
})

test('sessionMiddleware runs each request in a session of its own', async () => {
  const { native, dispatcher } = fakeNative('eventual', lsnOfWrites)
  const manager = new ReadReplicaManager(native, dispatcher)
  const middleware = manager.sessionMiddleware()
  const seen = []
  await new Promise((resolve) =>
    middleware({}, {}, async () => {
      await manager.query('UPDATE 0/20')
      seen.push(manager.lastWriteLsn())
      resolve()
    }),
  )
  await new Promise((resolve) =>
    middleware({}, {}, () => {
      seen.push(manager.lastWriteLsn())
      resolve()
    }),
  )
  assert.deepEqual(seen, ['0/20', null])
})

test('bad arguments reject (never throw) with ERR_INVALID_ARG_TYPE, and nothing is submitted', async () => {
  const { native, dispatcher, calls } = fakeNative()
  const manager = new ReadReplicaManager(native, dispatcher)
  const invalid = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }
  await assert.rejects(manager.query(1), invalid)
  await assert.rejects(manager.query('SELECT 1', [], { minLsn: 'nope' }), { ...invalid, message: /options\.minLsn/ })
  await assert.rejects(manager.getClient('x'), { ...invalid, message: /getClient\(kind\)/ })
  await assert.rejects(manager.withSession('fn'), { ...invalid, message: /withSession\(fn\)/ })
  await assert.rejects(
    manager.withSession(() => {}, { minLsn: 42 }),
    { ...invalid, message: /options\.minLsn/ },
  )
  assert.throws(() => manager.classifyQuery(1), { ...invalid, message: /classifyQuery\(sql\)/ })
  assert.deepEqual(calls, [])
  assert.deepEqual(manager.classifyQuery('SELECT 1'), { route: 'replica', reason: 'select' })
})

test('getClient(): a Client whose queries run in call order and count for the session', async () => {
  const { native, dispatcher, calls } = fakeNative('eventual', lsnOfWrites)
  const manager = new ReadReplicaManager(native, dispatcher)
  const token = await manager.withSession(async () => {
    const client = await manager.getClient('write')
    assert.ok(client instanceof Client)
    const done = []
    await Promise.all([
      client.query('BEGIN').then(() => done.push(1)),
      client.query('UPDATE 0/30').then(() => done.push(2)),
      client.query('COMMIT').then(() => done.push(3)),
    ])
    assert.deepEqual(done, [1, 2, 3])
    client.release()
    return manager.lastWriteLsn()
  })
  assert.equal(token, '0/30')
  assert.deepEqual(calls, [
    ['submitGetClient', 'write'],
    ['client.submit', 'BEGIN', [], true],
    ['client.submit', 'UPDATE 0/30', [], true],
    ['client.submit', 'COMMIT', [], true],
    ['client.release', false],
  ])
  assert.equal((await manager.getClient()).constructor, Client, "kind defaults to 'read'")
  assert.deepEqual(calls.at(-1), ['submitGetClient', 'read'])
})

test('a released client: queries reject and a second release throws, both ERR_RRM_CLIENT_RELEASED', async () => {
  const { native, dispatcher, calls } = fakeNative()
  const manager = new ReadReplicaManager(native, dispatcher)
  const client = await manager.getClient('read')
  client.release(new Error('broken'))
  assert.deepEqual(calls.at(-1), ['client.release', true], 'release(err) closes the connection')
  await assert.rejects(client.query('SELECT 1'), {
    message: 'Client has already been released to the pool',
    code: 'ERR_RRM_CLIENT_RELEASED',
  })
  assert.throws(() => client.release(), {
    message: 'Release called on client which has already been released to the pool.',
    code: 'ERR_RRM_CLIENT_RELEASED',
  })
  assert.equal(calls.filter((c) => c[0] === 'client.release').length, 1)
})

test('close(): tells onClose, lets queries in flight finish, rejects new work with ERR_RRM_CLOSED, once', async () => {
  const { native, dispatcher, calls } = fakeNative()
  const closed = []
  const manager = new ReadReplicaManager(native, dispatcher, { onClose: (m) => closed.push(m) })
  const inFlight = manager.query('SELECT 1')
  const closing = manager.close()
  assert.deepEqual(closed, [manager], 'told at once')
  const isClosed = { message: 'Read replica manager is closed', code: 'ERR_RRM_CLOSED' }
  await assert.rejects(manager.query('SELECT 2'), isClosed)
  await assert.rejects(manager.getClient('x'), isClosed, 'closed is reported before a bad argument')
  assert.equal((await inFlight).rows[0].n, 1)
  await closing
  await manager.close()
  assert.deepEqual(
    calls.map((c) => c[0]),
    ['submit', 'close'],
  )
  assert.equal(closed.length, 1)
})

test('status, metrics and Prometheus text come from the native side as they are', () => {
  const { native, dispatcher } = fakeNative()
  const manager = new ReadReplicaManager(native, dispatcher)
  assert.deepEqual(manager.getReplicaStatus(), {})
  assert.deepEqual(manager.getMetrics(), { readQueries: 0 })
  assert.equal(manager.getPrometheusMetrics(), '# none\n')
})
