// lib/sessions.js: the read-your-writes policy — what consistency, position and tracking each
// query gets (README, "Read-your-writes").
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { Sessions, readPolicy, tracksWrites } = require('../../lib/sessions.js')

const query = (options = {}) => ({ consistency: null, minLsn: null, ...options })
const session = (position = null) => ({ position })

test('a read: mode, strong and minLsn by default mode, session and query options', () => {
  const lastWrite = 0x500n
  // [default mode, session, query options, expected { mode, strong, minLsn }]
  const cases = [
    ['eventual', undefined, {}, ['eventual', false, null]],
    ['eventual', session(), {}, ['read-your-writes', false, null]],
    ['eventual', session(0x100n), {}, ['read-your-writes', false, 0x100n]],
    ['eventual', undefined, { minLsn: 0x200n }, ['read-your-writes', false, 0x200n]],
    ['eventual', undefined, { minLsn: 0n }, ['read-your-writes', false, 0n]],
    ['eventual', session(0x100n), { minLsn: 0x200n }, ['read-your-writes', false, 0x200n]],
    ['eventual', session(0x100n), { consistency: 'eventual' }, ['eventual', false, null]],
    ['eventual', session(0x100n), { consistency: 'strong' }, ['strong', true, null]],
    ['eventual', undefined, { consistency: 'strong', minLsn: 0x200n }, ['strong', true, null]],
    ['eventual', undefined, { consistency: 'eventual', minLsn: 0x200n }, ['eventual', false, null]],
    ['eventual', undefined, { consistency: 'read-your-writes' }, ['read-your-writes', false, lastWrite]],
    ['read-your-writes', undefined, {}, ['read-your-writes', false, lastWrite]],
    ['read-your-writes', session(), {}, ['read-your-writes', false, null]],
    ['read-your-writes', session(0x100n), {}, ['read-your-writes', false, 0x100n]],
    ['read-your-writes', undefined, { consistency: 'eventual' }, ['eventual', false, null]],
    ['strong', undefined, {}, ['strong', true, null]],
    ['strong', session(0x100n), {}, ['read-your-writes', false, 0x100n]],
  ]
  for (const [defaultMode, s, options, [mode, strong, minLsn]] of cases) {
    const what = `${defaultMode}, ${s ? `session at ${s.position}` : 'no session'}, ${JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`
    assert.deepEqual(readPolicy(defaultMode, s, query(options), lastWrite), { mode, strong, minLsn }, what)
  }
  assert.equal(readPolicy('read-your-writes', undefined, query(), null).minLsn, null, 'no write yet')
})

test('writes report their position in a session, or when the default mode is not eventual', () => {
  assert.equal(tracksWrites('eventual', undefined), false)
  assert.equal(tracksWrites('eventual', session()), true)
  assert.equal(tracksWrites('read-your-writes', undefined), true)
  assert.equal(tracksWrites('strong', undefined), true)
})

test("a session keeps its latest write as a token, in PostgreSQL's form", async () => {
  const sessions = new Sessions('eventual')
  assert.equal(sessions.current(), undefined)
  assert.equal(sessions.token(), null)
  await sessions.run(async () => {
    const s = sessions.current()
    assert.equal(sessions.token(), null)
    sessions.wrote(s, '0/20')
    assert.equal(sessions.token(), '0/20')
    sessions.wrote(s, '0/10') // an earlier position (a slower write) does not go back
    assert.equal(sessions.token(), '0/20')
    sessions.wrote(s, null)
    sessions.wrote(s, '1/0')
    assert.equal(sessions.token(), '1/0')
    assert.deepEqual(sessions.forRead(s, query()), { mode: 'read-your-writes', strong: false, minLsn: 1n << 32n })
  })
  assert.equal(sessions.token(), null, 'gone outside the session')
})

test('a session opened with a token shows it until it writes later', async () => {
  const sessions = new Sessions('eventual')
  await sessions.run(async () => {
    const s = sessions.current()
    assert.equal(sessions.token(), '0/4C001470', "in PostgreSQL's form")
    assert.equal(sessions.forRead(s, query()).minLsn, 0x4c001470n)
    sessions.wrote(s, '0/4C001000')
    assert.equal(sessions.token(), '0/4C001470', 'an earlier write does not replace it')
    sessions.wrote(s, '0/4C002000')
    assert.equal(sessions.token(), '0/4C002000')
  }, 0x4c001470n)
})

test('concurrent sessions are apart; outside them, reads follow the process when asked', async () => {
  const sessions = new Sessions('read-your-writes')
  const tick = () => new Promise((r) => setImmediate(r))
  const one = sessions.run(async () => {
    await tick()
    sessions.wrote(sessions.current(), '0/100')
    await tick()
    return sessions.token()
  })
  const two = sessions.run(async () => {
    await tick()
    await tick()
    return sessions.token()
  })
  assert.deepEqual(await Promise.all([one, two]), ['0/100', null])
  assert.equal(sessions.tracking(undefined), true)
  // Outside a session: this process's latest write, whichever session made it.
  assert.equal(sessions.forRead(undefined, query()).minLsn, 0x100n)
  sessions.wrote(undefined, '0/80')
  assert.equal(sessions.forRead(undefined, query()).minLsn, 0x100n, 'an earlier write does not go back')
  sessions.wrote(undefined, '0/180')
  assert.equal(sessions.forRead(undefined, query()).minLsn, 0x180n)
})
