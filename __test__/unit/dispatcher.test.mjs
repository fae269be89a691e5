// lib/dispatcher.js: ids, batches of completions, events under id 0, drain.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { Dispatcher, nextId, EVENT_ID } = require('../../lib/dispatcher.js')

test('ids run 1 … 2³²−1 and wrap past the top, skipping 0 (the events id)', () => {
  assert.equal(EVENT_ID, 0)
  assert.equal(nextId(0), 1)
  assert.equal(nextId(1), 2)
  assert.equal(nextId(0xfffffffe), 0xffffffff)
  assert.equal(nextId(0xffffffff), 1)
})

test('submissions get ids 1, 2, 3, … and settle from one batch, in any order', async () => {
  const d = new Dispatcher()
  const ids = []
  const a = d.submit(
    (id) => ids.push(id),
    (v) => `a:${v}`,
  )
  const b = d.submit(
    (id) => ids.push(id),
    (v) => `b:${v}`,
  )
  const c = d.submit(
    (id) => ids.push(id),
    (v) => `c:${v}`,
  )
  assert.deepEqual(ids, [1, 2, 3])
  d.onComplete([3, 'z', 1, 'x', 2, 'y'])
  assert.deepEqual(await Promise.all([a, b, c]), ['a:x', 'b:y', 'c:z'])
})

test('an Error value rejects without calling finish; a finish that throws rejects with its error', async () => {
  const d = new Dispatcher()
  let finished = false
  const failed = d.submit(
    () => {},
    () => {
      finished = true
    },
  )
  const broken = d.submit(
    () => {},
    () => {
      throw new RangeError('bad reply')
    },
  )
  const boom = new Error('boom')
  d.onComplete([1, boom, 2, 'reply'])
  await assert.rejects(failed, (err) => err === boom)
  await assert.rejects(broken, { name: 'RangeError', message: 'bad reply' })
  assert.equal(finished, false)
})

test('a submit that throws rejects, and leaves nothing pending', async () => {
  const d = new Dispatcher()
  await assert.rejects(
    d.submit(
      () => {
        throw new TypeError('native refused')
      },
      (v) => v,
    ),
    { message: 'native refused' },
  )
  let drained = false
  await d.drain(10_000).then(() => {
    drained = true
  })
  assert.ok(drained)
})

test('events arrive under id 0, between results, and go to onEvent', async () => {
  const d = new Dispatcher()
  const events = []
  d.onEvent = (e) => events.push(e)
  const q = d.submit(
    () => {},
    (v) => v,
  )
  d.onComplete([0, { type: 'failover' }, 1, 'done', 0, { type: 'replica-recovered' }])
  assert.equal(await q, 'done')
  assert.deepEqual(events, [{ type: 'failover' }, { type: 'replica-recovered' }])
  d.onEvent = null
  d.onComplete([0, { type: 'ignored' }]) // no listener: dropped
})

test('ids nobody waits for (settled already, or never given) are ignored', async () => {
  const d = new Dispatcher()
  const q = d.submit(
    () => {},
    (v) => v,
  )
  d.onComplete([1, 'first', 1, 'again', 99, 'stray'])
  assert.equal(await q, 'first')
})

test('drain resolves at once when idle, when the last query finishes, or at the timeout', async () => {
  const d = new Dispatcher()
  await d.drain(10_000)

  const q = d.submit(
    () => {},
    (v) => v,
  )
  let drained = false
  const draining = d.drain(10_000).then(() => {
    drained = true
  })
  await new Promise((r) => setImmediate(r))
  assert.equal(drained, false, 'still waiting for the query')
  d.onComplete([1, 'ok'])
  await draining
  assert.equal(await q, 'ok')

  d.submit(
    () => {},
    (v) => v,
  )
  const started = Date.now()
  await d.drain(30)
  assert.ok(Date.now() - started >= 25, 'gave up after the timeout')
})

test('a settled result does not outlive scavenges through the dispatcher (its Map keeps old entries)', async (t) => {
  // V8 keeps the entries of a Map's replaced hash tables; in the old generation those live until
  // a full GC, so an entry that still held `resolve` kept its result through every scavenge.
  const v8 = require('node:v8')
  const vm = require('node:vm')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  const oldUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size
  const result = () => Array.from({ length: 10_000 }, (_, i) => ({ i }))
  const d = new Dispatcher()
  // Settles `n` submissions at once, as a batch from the native side does, each with `make()`.
  const round = async (n, make) => {
    const ids = []
    const settled = []
    for (let k = 0; k < n; k++) {
      settled.push(
        d.submit(
          (id) => ids.push(id),
          (v) => v,
        ),
      )
    }
    d.onComplete(ids.flatMap((id) => [id, make()]))
    await Promise.all(settled)
  }
  // Warm up, then make the dispatcher and its Map old, as in a long-running process.
  for (let n = 1; n <= 6; n++) await round(n, result)
  gc()
  gc()
  // Bytes a result takes once promoted: one kept alive through two scavenges.
  const kept = [result()]
  let before = oldUsed()
  gc({ type: 'minor' })
  gc({ type: 'minor' })
  const resultBytes = oldUsed() - before
  kept.pop()
  // Two scavenges promote what survives both (V8's scavenger); where they do not, nothing to see.
  if (resultBytes < 100_000) return t.skip(`two scavenges promoted ${resultBytes} bytes, not a result`)
  let promoted = 0
  let results = 0
  for (let r = 0; r < 60; r++) {
    const n = 1 + (r % 6) // the Map grows and shrinks
    before = oldUsed()
    await round(n, result)
    gc({ type: 'minor' })
    gc({ type: 'minor' })
    promoted += Math.max(0, oldUsed() - before)
    results += n
  }
  // Entries that kept `resolve` had about half of every result promoted (40 MB here, Node 20);
  // entries let go of, well under 1 MB.
  assert.ok(
    promoted < (results * resultBytes) / 8,
    `${(promoted / 1e6).toFixed(1)} MB promoted for ${results} results of ${(resultBytes / 1e6).toFixed(2)} MB`,
  )
})
