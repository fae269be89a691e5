// lib/password.js: a password function is called as node-postgres calls it, and whatever it
// does, the wrapper the native side calls resolves to { password } or { error } — it never
// throws or rejects.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { passwordCallback } = require('../../lib/password.js')

const params = { host: 'db', port: 5432, database: 'app', user: 'app' }

/** What the wrapper of `fn` resolves to, checking that it neither throws nor rejects. */
function answer(fn) {
  let pending
  assert.doesNotThrow(() => {
    pending = passwordCallback(fn)(params)
  })
  assert.ok(pending instanceof Promise)
  return pending
}

test('strings, sync or async, are the password; undefined is none (pg connects without one)', async () => {
  assert.deepEqual(await answer(() => 'pw'), { password: 'pw' })
  assert.deepEqual(await answer(async () => 'pw'), { password: 'pw' })
  assert.deepEqual(await answer(() => Promise.resolve('')), { password: '' })
  assert.deepEqual(await answer(() => undefined), {})
  assert.deepEqual(await answer(async () => {}), {})
})

test('anything else is an error with the message pg gives', async () => {
  for (const value of [42, null, {}, ['pw'], Buffer.from('pw'), true]) {
    assert.deepEqual(await answer(() => value), { error: 'Password must be a string' }, String(value))
    assert.deepEqual(await answer(async () => value), { error: 'Password must be a string' })
  }
})

test('a throw or a rejection becomes its message', async () => {
  assert.deepEqual(
    await answer(() => {
      throw new Error('vault unreachable')
    }),
    { error: 'vault unreachable' },
  )
  assert.deepEqual(await answer(() => Promise.reject(new TypeError('token expired'))), { error: 'token expired' })
  assert.deepEqual(await answer(() => Promise.reject('plain string')), { error: 'plain string' })
  assert.deepEqual(await answer(() => Promise.reject(undefined)), { error: 'undefined' })
  assert.deepEqual(
    await answer(() => {
      throw Symbol('odd')
    }),
    { error: 'Symbol(odd)' },
  )
  const unprintable = { toString: () => ({}), valueOf: () => ({}) }
  assert.deepEqual(await answer(() => Promise.reject(unprintable)), { error: 'it threw a value that cannot be shown' })
})

test('the function gets the connection parameters, and is called once per call', async () => {
  const seen = []
  const wrapped = passwordCallback((p) => {
    seen.push(p)
    return `token-${seen.length}`
  })
  assert.deepEqual(await wrapped(params), { password: 'token-1' })
  assert.deepEqual(await wrapped(params), { password: 'token-2' })
  assert.deepEqual(seen, [params, params])
})
