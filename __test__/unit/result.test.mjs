// Rows from the native column form, per value and packed (src/js/pack.rs): the packed form must
// give exactly the values the per-value form gives.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { toRows, toResult, unpack } = require('../../lib/result.js')

const field = (name, dataTypeID) => ({ name, dataTypeID })
const u32 = (...values) => Uint32Array.from(values)
const f64 = (...values) => Float64Array.from(values)

test('numbers keep -0, NaN and ±Infinity; null rows are null', () => {
  const out = unpack([1, f64(-0, Number.NaN, Infinity, -Infinity, 0, 1.5), u32(4)], 6)
  assert.ok(Array.isArray(out))
  assert.ok(Object.is(out[0], -0))
  assert.ok(Number.isNaN(out[1]))
  assert.deepEqual(out.slice(2), [Infinity, -Infinity, null, 1.5])
  assert.deepEqual(unpack([1, f64(1, 2), null], 2), [1, 2])
})

test('instants are Dates, infinite ones ±Infinity, as the per-value path gives them', () => {
  const out = unpack([2, f64(0, 1704067200123, Infinity, -Infinity, 0, -0), u32(4)], 6)
  assert.ok(out[0] instanceof Date)
  assert.equal(out[1].toISOString(), '2024-01-01T00:00:00.123Z')
  assert.equal(out[2], Infinity)
  assert.equal(out[3], -Infinity)
  assert.equal(out[4], null)
  assert.ok(Object.is(out[5].getTime(), 0))
})

test('bools: 0 false, 1 true, 2 null', () => {
  assert.deepEqual(unpack([3, Uint8Array.from([1, 0, 2, 1])], 4), [true, false, null, true])
})

test('text: UTF-16 offsets, astral characters, empty strings apart from nulls', () => {
  // 'ab', '', null, 'é𝄞', 'x', '' — é is one UTF-16 unit, 𝄞 two.
  const out = unpack([4, 'abé𝄞x', u32(2, 2, 2, 5, 6, 6), u32(2)], 6)
  assert.deepEqual(out, ['ab', '', null, 'é𝄞', 'x', ''])
  assert.deepEqual(unpack([4, '', u32(0, 0), null], 2), ['', ''])
})

test('a dictionary: each row its string, null entries null; identical strings shared', () => {
  const out = unpack([5, ['a', null, '{}'], u32(0, 1, 2, 0, 2)], 5)
  assert.deepEqual(out, ['a', null, '{}', 'a', '{}'])
})

test('values and nulls', () => {
  const values = [Buffer.from('x'), null, { x: 1, y: 2 }]
  assert.equal(unpack([0, values], 3), values)
  assert.deepEqual(unpack([6], 3), [null, null, null])
  assert.throws(() => unpack([9], 1), /unknown packed column kind 9/)
})

/** The same two-row result, per value and packed. */
function both() {
  const fields = [
    field('n', 23),
    field('t', 25),
    field('j', 114), // json: parsed in JS after unpacking
    field('at', 1114), // timestamp: local time in JS
    field('n', 20), // a duplicate name: the later column wins
  ]
  const perValue = [
    [1, 2],
    ['é', null],
    ['{"a":1}', '[1]'],
    [0, null],
    ['9007199254740993', '-1'],
  ]
  const packed = [
    [1, f64(1, 2), null],
    [4, 'é', u32(1, 1), u32(1)],
    [4, '{"a":1}[1]', u32(7, 10), null],
    [1, f64(0, 0), u32(1)],
    [4, '9007199254740993-1', u32(16, 18), null],
    2,
  ]
  return { fields, perValue, packed }
}

test('packed and per-value columns give the same rows, parsers applied, later names winning', () => {
  const { fields, perValue, packed } = both()
  const a = toRows(fields, perValue)
  const b = toRows(fields, packed)
  assert.deepEqual(b, a)
  assert.deepEqual(Object.keys(b[0]), ['n', 't', 'j', 'at'])
  assert.equal(b[0].n, '9007199254740993')
  assert.deepEqual(b[0].j, { a: 1 })
  assert.ok(b[0].at instanceof Date)
  assert.equal(b[0].at.getHours(), new Date(1970, 0, 1).getHours())
  assert.equal(b[1].t, null)
  assert.equal(b[1].at, null)
})

test("rowMode 'array' from packed columns", () => {
  const { fields, perValue, packed } = both()
  const rows = toRows(fields, packed, 'array')
  assert.deepEqual(rows, toRows(fields, perValue, 'array'))
  assert.equal(rows[1].length, 5)
  assert.equal(rows[1][0], 2)
})

test('custom parsers (textTypes columns) see the unpacked text', () => {
  const fields = [field('m', 790)]
  const parserFor = (oid) => (oid === 790 ? (text) => `parsed ${text}` : null)
  const rows = toRows(fields, [[4, '$1.00$2.00', u32(5, 10, 10), u32(2)], 3], undefined, parserFor)
  assert.deepEqual(rows, [{ m: 'parsed $1.00' }, { m: 'parsed $2.00' }, { m: null }])
})

test('rows from the template are plain objects of one shape; __proto__ as pg treats it', () => {
  const fields = [field('a', 23), field('__proto__', 23), field('b', 23)]
  const rows = toRows(fields, [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ])
  assert.deepEqual(rows, [
    { a: 1, b: 7 },
    { a: 2, b: 8 },
    { a: 3, b: 9 },
  ])
  for (const row of rows) assert.equal(Object.getPrototypeOf(row), Object.prototype)
  assert.deepEqual(toRows([field('a', 23)], [[1]]), [{ a: 1 }])
  assert.deepEqual(toRows([], []), [])
})

test('a packed reply becomes a Result', () => {
  const fields = ['x', 0, 0, 16, 1, -1]
  const reply = [false, null, ['SELECT 3', 3, null, fields, [[3, Uint8Array.from([0, 1, 2])], 3]]]
  const result = toResult(reply)
  assert.equal(result.command, 'SELECT 3')
  assert.deepEqual(result.rows, [{ x: false }, { x: true }, { x: null }])
})
