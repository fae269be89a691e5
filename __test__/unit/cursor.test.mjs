// lib/cursor.js, and cursor() on the manager and on clients, over a stand-in for NativeCursor:
// what reaches the native side and when (nothing before the first read, one batch ahead at most
// for `for await`), read(n) and close() as pg-cursor's, and how a cursor ends.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { Cursor } = require('../../lib/cursor.js')
const { Dispatcher } = require('../../lib/dispatcher.js')
const { ReadReplicaManager } = require('../../lib/manager.js')

/** Fields as the native side sends them: one int4 column `n`. */
const FIELDS = ['n', 0, 0, 23, 4, -1]

/**
 * A NativeCursor stand-in over the rows 1…`total`, answering on the next tick as the binding
 * does, through `dispatcher`: `[done, writeLsn, fields | null, columns]`. `failAt`: the request
 * (0-based) that fails instead.
 */
function fakeCursor(dispatcher, { total = 10, failAt = -1, writeLsn = null } = {}) {
  const calls = []
  let next = 1
  let requests = 0
  const reply = (id, value) => setImmediate(() => dispatcher.onComplete([id, value]))
  const native = {
    calls,
    read(id, rows) {
      calls.push(['read', rows])
      if (requests++ === failAt) return reply(id, Object.assign(new Error('division by zero'), { code: '22012' }))
      const column = []
      while (column.length < rows && next <= total) column.push(next++)
      const done = column.length < rows
      reply(id, [done, done ? writeLsn : null, requests === 1 ? FIELDS : null, [column]])
    },
    close(id) {
      calls.push(['close'])
      reply(id, [true, writeLsn, null, []])
    },
  }
  return native
}

/** A Cursor over a fake native one; `ended` records what onEnd was told. */
function cursorOver(options = {}, batchSize = 3) {
  const dispatcher = new Dispatcher()
  const native = fakeCursor(dispatcher, options)
  const ended = []
  let opened = 0
  const cursor = new Cursor({
    open: () => {
      opened++
      return native
    },
    onEnd: (lsn) => ended.push(lsn),
    dispatcher,
    rowMode: undefined,
    batchSize,
  })
  return { cursor, native, ended, opened: () => opened }
}

const ns = (rows) => rows.map((r) => r.n)

test('read(n): up to n rows, then [] for ever; fields once the first read answered', async () => {
  const { cursor, native, ended } = cursorOver({ total: 5 })
  assert.equal(cursor.fields, null)
  assert.deepEqual(ns(await cursor.read(2)), [1, 2])
  assert.equal(cursor.fields[0].name, 'n')
  assert.equal(cursor.fields[0].dataTypeID, 23)
  assert.deepEqual(ns(await cursor.read()), [3, 4, 5], 'the batch size by default')
  assert.deepEqual(await cursor.read(2), [])
  assert.deepEqual(await cursor.read(2), [])
  assert.deepEqual(native.calls, [
    ['read', 2],
    ['read', 3],
    ['read', 2],
  ])
  assert.deepEqual(ended, [null], 'ended once, when the rows ran out')
  await cursor.close()
  assert.equal(native.calls.length, 3, 'nothing left to close')
})

test('nothing reaches the native side before the first read; close() before it opens nothing', async () => {
  const { cursor, opened, ended } = cursorOver()
  await cursor.close()
  assert.equal(opened(), 0)
  assert.deepEqual(ended, [null])
  assert.deepEqual(await cursor.read(), [])
})

test('reads issued together run one at a time, in call order', async () => {
  const { cursor } = cursorOver({ total: 7 })
  const batches = await Promise.all([cursor.read(3), cursor.read(3), cursor.read(3), cursor.read(3)])
  assert.deepEqual(batches.map(ns), [[1, 2, 3], [4, 5, 6], [7], []])
})

test('an error rejects that read and every later one with the same error; close() then does nothing', async () => {
  const { cursor, native, ended } = cursorOver({ failAt: 1 })
  await cursor.read()
  const err = await cursor.read().catch((e) => e)
  assert.equal(err.code, '22012')
  assert.equal(await cursor.read().catch((e) => e), err)
  await cursor.close()
  assert.deepEqual(native.calls, [
    ['read', 3],
    ['read', 3],
  ])
  assert.deepEqual(ended, [null])
})

test('bad row counts reject with ERR_INVALID_ARG_TYPE, and nothing is read', async () => {
  const { cursor, native } = cursorOver()
  for (const bad of [0, -1, 1.5, '3', 2 ** 31, null]) {
    await assert.rejects(cursor.read(bad), { code: 'ERR_INVALID_ARG_TYPE', message: /cursor\.read\(rows\)/ })
  }
  assert.deepEqual(native.calls, [])
})

test('for await: every row, one batch read ahead at most; breaking out closes the cursor', async () => {
  const all = cursorOver({ total: 8 })
  const rows = []
  for await (const row of all.cursor) rows.push(row.n)
  assert.deepEqual(rows, [1, 2, 3, 4, 5, 6, 7, 8])
  assert.deepEqual(all.native.calls, [
    ['read', 3],
    ['read', 3],
    ['read', 3],
  ])

  const early = cursorOver({ total: 100, writeLsn: '0/10' })
  for await (const row of early.cursor) {
    // While the first batch is used, the second is being read, and no third.
    assert.deepEqual(early.native.calls, [
      ['read', 3],
      ['read', 3],
    ])
    if (row.n === 2) break
  }
  assert.deepEqual(early.native.calls.at(-1), ['close'])
  assert.deepEqual(early.ended, ['0/10'], 'the write position of the commit')
})

test('for await throws the error that ends the cursor', async () => {
  const { cursor, native } = cursorOver({ total: 100, failAt: 2 })
  const seen = []
  const err = await (async () => {
    for await (const row of cursor) seen.push(row.n)
  })().catch((e) => e)
  assert.equal(err.code, '22012')
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6])
  assert.ok(!native.calls.some(([call]) => call === 'close'))
})

test('manager.cursor(): arguments to the native side as query() sends them; the session learns the write', async () => {
  const dispatcher = new Dispatcher()
  const calls = []
  const native = {
    consistency: 'eventual',
    members: () => [],
    cursor(...args) {
      calls.push(args)
      return fakeCursor(dispatcher, { total: 2, writeLsn: '0/4C001470' })
    },
    async close() {},
  }
  const manager = new ReadReplicaManager(native, dispatcher)
  const token = await manager.withSession(async () => {
    const cursor = manager.cursor('UPDATE t SET n = $1 RETURNING n', [5], { route: 'primary', batchSize: 10 })
    assert.deepEqual(calls, [], 'nothing before the first read')
    assert.deepEqual(ns(await cursor.read()), [1, 2])
    return manager.lastWriteLsn()
  })
  assert.equal(token, '0/4C001470')
  assert.deepEqual(calls, [['UPDATE t SET n = $1 RETURNING n', ['5'], 'primary', false, null, true]])

  const rows = await manager.cursor({ text: 'SELECT 1', rowMode: 'array' }).read()
  assert.deepEqual(rows, [[1], [2]])
  assert.throws(() => manager.cursor('x', [], { batchSize: 1.5 }), { code: 'ERR_INVALID_ARG_TYPE' })
  await manager.close()
  await assert.rejects(manager.cursor('SELECT 1').read(), { code: 'ERR_RRM_CLOSED' })
})

test('client.cursor(): after the queries before it, before the ones after it; release() closes it', async () => {
  const dispatcher = new Dispatcher()
  const log = []
  const reply = (id, value) => setImmediate(() => dispatcher.onComplete([id, value]))
  const nativeClient = {
    submit(id, text) {
      log.push(text)
      reply(id, [false, null, ['SELECT', 1, null, FIELDS, [[0]]]])
    },
    cursor(text, values, track) {
      log.push(`cursor ${text}`)
      const cursor = fakeCursor(dispatcher, { total: 100 })
      return {
        read: (id, rows) => {
          log.push('read')
          cursor.read(id, rows)
        },
        close: (id) => {
          log.push('close')
          cursor.close(id)
        },
      }
    },
    release(destroy) {
      log.push(`release ${destroy}`)
    },
  }
  const native = {
    consistency: 'eventual',
    members: () => [],
    submitGetClient: (id) => reply(id, nativeClient),
  }
  const manager = new ReadReplicaManager(native, dispatcher)
  const client = await manager.getClient('read')
  const first = client.query('first')
  const cursor = client.cursor('SELECT n', [], { batchSize: 2 })
  const second = client.query('second')
  assert.deepEqual(ns(await cursor.read()), [1, 2])
  await first
  assert.deepEqual(log, ['first', 'cursor SELECT n', 'read'], 'the second query waits for the cursor')
  await cursor.close()
  await second
  assert.deepEqual(log.slice(3), ['close', 'second'])

  const open = client.cursor('SELECT n')
  await open.read()
  client.release()
  assert.deepEqual(await open.read(), [])
  // The native release waits for the cursor's hold on the connection, which its close ends.
  assert.deepEqual(log.slice(-2), ['release false', 'close'])
  assert.throws(() => client.cursor(1), { code: 'ERR_INVALID_ARG_TYPE', message: /client\.cursor\(text\)/ })
})
