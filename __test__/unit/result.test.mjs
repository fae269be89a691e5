// Rows from the native column form, per value and packed (src/js/pack.rs): the packed form must
// give exactly the values the per-value form gives.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { toRows, toResult } = require('../../lib/result.js')

const field = (name, dataTypeID) => ({ name, dataTypeID })
const u32 = (...values) => Uint32Array.from(values)
const f64 = (...values) => Float64Array.from(values)
/** The values of one packed column of `count` rows (no parser: type 0), through toRows. */
const unpack = (packed, count) => toRows([field('x', 0)], [packed, count], 'array').map((row) => row[0])

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
  const out = unpack([0, values], 3)
  assert.deepEqual(out, values)
  assert.equal(out[0], values[0])
  assert.equal(out[2], values[2])
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

/**
 * What rows must be, built the plain way (as lib/result.js did before filling rows a column at a
 * time): each value parsed unless null, then rows one by one, later names winning.
 */
function referenceRows(fields, perValue, rowMode, parserFor) {
  const { parsers } = require('../../lib/values.js')
  const count = fields.length === 0 ? 0 : perValue[0].length
  const columns = perValue.map((column, c) => {
    const parse = parserFor?.(fields[c].dataTypeID) ?? parsers.get(fields[c].dataTypeID)
    return parse === undefined ? column : column.map((v) => (v === null ? null : parse(v)))
  })
  const rows = []
  for (let r = 0; r < count; r++) {
    const row = rowMode === 'array' ? [] : {}
    for (let c = 0; c < fields.length; c++) row[rowMode === 'array' ? c : fields[c].name] = columns[c][r]
    rows.push(row)
  }
  return rows
}

/** One column packed as src/js/pack.rs packs it, from the values the per-value form has. */
function pack(kind, values) {
  const nulls = values.flatMap((v, r) => (v === null ? [r] : []))
  const nullRows = nulls.length === 0 ? null : u32(...nulls)
  switch (kind) {
    case 'values':
      return [0, values.slice()]
    case 'numbers':
      return [1, f64(...values.map((v) => v ?? 0)), nullRows]
    case 'instants':
      return [2, f64(...values.map((v) => (v === null ? 0 : typeof v === 'number' ? v : v.getTime()))), nullRows]
    case 'bools':
      return [3, Uint8Array.from(values, (v) => (v === null ? 2 : v ? 1 : 0))]
    case 'text': {
      let end = 0
      const ends = values.map((v) => {
        end += v === null ? 0 : v.length
        return end
      })
      return [4, values.filter((v) => v !== null).join(''), u32(...ends), nullRows]
    }
    case 'dict': {
      const strings = [...new Set(values)]
      return [5, strings, u32(...values.map((v) => strings.indexOf(v)))]
    }
    case 'nulls':
      return [6]
  }
}

/** A small deterministic generator (xorshift), so that a failure can be replayed. */
function random(seed) {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

test('every packed kind, nulls anywhere, parsers, duplicate names, both row modes: the rows a plain build gives', () => {
  const next = random(0x5eed)
  const pick = (list) => list[Math.floor(next() * list.length)]
  const wrap = (v) => ({ parsed: v }) // a custom parser: a new object per value
  const parserFor = (oid) => (oid === 9001 ? wrap : null)
  // [kind, type OIDs whose parser applies or not, a value maker]
  const kinds = [
    [
      'numbers',
      [23, 701, 1114, 9001],
      () => pick([0, -0, 1.5, -7, Number.NaN, Infinity, -Infinity, 2 ** 31 + 0.5, 1e-300]),
    ],
    ['instants', [1184, 9001], () => pick([new Date(0), new Date(-1), new Date(1704067200123), Infinity, -Infinity])],
    ['bools', [16, 9001], () => next() < 0.5],
    ['text', [25, 114, 9001], () => pick(['1', '"é"', '[1,{"a":"𝄞"}]', '{}', '""', '0.5'])],
    ['dict', [25, 3802, 9001], () => pick(['true', '{"k":[]}', '2'])],
    ['values', [17, 9001], () => pick([Buffer.from([1, 2]), '3', 4, [5, null]])],
    ['nulls', [25, 9001], () => null],
  ]
  const names = ['a', 'b', 'a', 'c', 'b', 'a']
  for (let round = 0; round < 200; round++) {
    const count = pick([0, 1, 2, 3, 8, 13])
    const width = 1 + Math.floor(next() * names.length)
    const fields = []
    const perValue = []
    const kindsOf = []
    for (let c = 0; c < width; c++) {
      const [kind, oids, make] = pick(kinds)
      // Null rows: none, all, or some — first and last included at times.
      const nullShare = pick([0, 1, 0.3])
      const values = Array.from({ length: count }, () => (kind === 'nulls' || next() < nullShare ? null : make()))
      fields.push(field(names[c], pick(oids)))
      perValue.push(values)
      kindsOf.push(kind)
    }
    for (const rowMode of [undefined, 'array']) {
      const packed = [...kindsOf.map((kind, c) => pack(kind, perValue[c])), count]
      const expected = referenceRows(fields, perValue, rowMode, parserFor)
      const context = `round ${round}, rowMode ${rowMode}, ${JSON.stringify(fields)}`
      assert.deepStrictEqual(toRows(fields, packed, rowMode, parserFor), expected, context)
      // Packed columns are read, not changed: the same reply gives the same rows twice.
      assert.deepStrictEqual(toRows(fields, packed, rowMode, parserFor), expected, context)
      const perValueCopy = perValue.map((column) => column.slice())
      assert.deepStrictEqual(toRows(fields, perValueCopy, rowMode, parserFor), expected, context)
    }
  }
})

test('a later duplicate column wins even where it is null, and parsed values are not shared by rows', () => {
  const fields = [field('x', 23), field('x', 23), field('j', 114)]
  const columns = [[1, f64(1, 2, 3), null], [1, f64(0, 5, 0), u32(0, 2)], [5, ['{"a":1}'], u32(0, 0, 0)], 3]
  const rows = toRows(fields, columns)
  assert.deepStrictEqual(rows, [
    { x: null, j: { a: 1 } },
    { x: 5, j: { a: 1 } },
    { x: null, j: { a: 1 } },
  ])
  assert.notEqual(rows[0].j, rows[1].j, 'JSON parsed per row, as pg does')
  assert.deepStrictEqual(toRows(fields, columns, 'array'), [
    [1, null, { a: 1 }],
    [2, 5, { a: 1 }],
    [3, null, { a: 1 }],
  ])
})
