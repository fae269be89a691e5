// lib/pg: the parts of manager.pg that need no database — pg's argument reading, escaping, type
// parser plans, TypeOverrides and the cancel interception — with node-postgres as the oracle.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const pg = require('pg')
const { prepareValue } = require('pg/lib/utils')
const { readPgQuery } = require('../../lib/pg/query.js')
const { escapeIdentifier, escapeLiteral } = require('../../lib/pg/escape.js')
const { createTypes, parsePlan, typeOverridesClass } = require('../../lib/pg/types.js')
const { Cancels } = require('../../lib/pg/cancel.js')

test('readPgQuery reads (text | config, values?, callback?) as pg does', () => {
  const cb = () => {}
  assert.deepEqual(readPgQuery('SELECT $1', [1]), {
    text: 'SELECT $1',
    values: ['1'],
    rowMode: undefined,
    types: undefined,
    name: undefined,
    callback: undefined,
    error: null,
  })
  assert.equal(readPgQuery('SELECT 1', cb).callback, cb)
  assert.equal(readPgQuery('SELECT 1', [], cb).callback, cb)
  assert.equal(readPgQuery({ text: 'SELECT 1', callback: cb }).callback, cb)
  // Values as the second argument win over the config's (Drizzle passes them so).
  assert.deepEqual(readPgQuery({ text: 'SELECT $1', values: [1] }, [2]).values, ['2'])
  const values = [new Date(0), null, [1, 'a"b'], { a: 1 }, 2n]
  assert.deepEqual(readPgQuery({ text: 'SELECT $1', values }).values, values.map(prepareValue))
  assert.throws(() => readPgQuery(null), { message: 'Client was passed a null or undefined query' })
  assert.throws(() => readPgQuery('SELECT 1', [], 5), { name: 'TypeError', message: 'callback is not a function' })
  assert.match(readPgQuery({ text: 'x', submit() {} }).error.message, /manager\.cursor/)
  assert.equal(readPgQuery({ text: 'x', submit() {} }).error.code, 'ERR_RRM_UNSUPPORTED')
  assert.equal(readPgQuery('SELECT 1', 'nope').error.message, 'Query values must be an array')
  assert.match(readPgQuery({ text: 1 }).error.message, /text must be a string/)
  assert.match(readPgQuery({ text: 'x', rowMode: 'object' }).error.message, /rowMode/)
  assert.match(readPgQuery({ text: 'x', types: {} }).error.message, /getTypeParser/)
})

test('escapeIdentifier / escapeLiteral equal pg’s', () => {
  for (const s of ['a', "o'neil", 'c:\\dir', '"', '', '\\\'"', 'ÿ😀']) {
    assert.equal(escapeIdentifier(s), pg.escapeIdentifier(s))
    assert.equal(escapeLiteral(s), pg.escapeLiteral(s))
  }
  for (const v of [null, undefined, 5]) assert.equal(escapeLiteral(v), pg.escapeLiteral(v))
})

test('a parser plan asks text only for types with a parser other than pg’s default', () => {
  const types = createTypes()
  assert.deepEqual(parsePlan(types.api).textTypes, null, 'defaults: nothing asked as text')
  assert.equal(parsePlan(types.api).parserFor(1184), null)
  assert.equal(parsePlan(pg.types).textTypes, null, 'pg’s own registry, untouched, is the default too')
  types.setTypeParser(1184, (s) => s)
  types.setTypeParser(1700, parseFloat)
  const plan = parsePlan(types.api)
  assert.deepEqual(plan.textTypes, [1184], 'numeric is text already; timestamptz is not')
  assert.equal(plan.parserFor(1700), parseFloat)
  types.forget(1184)
  assert.deepEqual(parsePlan(types.api).textTypes, null)
  // Drizzle's per-query source: a few raw, the rest pg's.
  const drizzle = {
    getTypeParser: (oid, format) =>
      [1184, 1114, 1082, 1186, 1231].includes(oid) ? (v) => v : pg.types.getTypeParser(oid, format),
  }
  assert.deepEqual(parsePlan(drizzle).textTypes.toSorted(), [1082, 1114, 1184, 1186, 1231])
})

test('a parser plan follows changes made through pg’s own types, however they are made', () => {
  const types = createTypes()
  const overrides = new (typeOverridesClass(types))()
  assert.equal(parsePlan(overrides).textTypes, null)
  const before = pg.types.getTypeParser(1082)
  pg.types.setTypeParser(1082, String)
  try {
    assert.deepEqual(parsePlan(overrides).textTypes, [1082])
    assert.equal(parsePlan(overrides).parserFor(1082), String)
  } finally {
    pg.types.setTypeParser(1082, before)
  }
  assert.equal(parsePlan(overrides).textTypes, null)
  overrides.text[1184] = String
  assert.deepEqual(parsePlan(overrides).textTypes, [1184], 'a TypeOverrides’ own parser')
})

test('TypeOverrides behaves as pg’s', () => {
  const types = createTypes()
  const TypeOverrides = typeOverridesClass(types)
  const ours = new TypeOverrides()
  const theirs = new pg.TypeOverrides()
  for (const o of [ours, theirs]) {
    o.setTypeParser(1700, parseFloat)
    o.setTypeParser(20, 'binary', parseInt)
  }
  for (const [oid, format] of [[1700], [1700, 'text'], [20, 'binary'], [23], [25, 'text']]) {
    assert.equal(ours.getTypeParser(oid, format), theirs.getTypeParser(oid, format), `${oid} ${format}`)
  }
  assert.deepEqual(ours.getOverrides('other'), {})
  // Falls back to its manager.pg's registry.
  types.setTypeParser(1082, String)
  assert.equal(new TypeOverrides().getTypeParser(1082), String)
})

test('only a lone pg_cancel_backend naming a known client is answered here', async () => {
  const cancels = new Cancels()
  let cancelled = 0
  const client = { processID: 0x40000007, _cancel: async () => ++cancelled > 0 }
  cancels.add(client)
  const query = (text, values = []) => ({ text, values, rowMode: undefined })
  const answered = await cancels.intercept(query('SELECT pg_cancel_backend($1);', ['1073741831']))
  assert.deepEqual(answered.rows, [{ pg_cancel_backend: true }])
  assert.deepEqual((await cancels.intercept(query('select pg_cancel_backend(1073741831)'))).rows, [
    { pg_cancel_backend: true },
  ])
  assert.equal(cancels.intercept(query('SELECT pg_cancel_backend($1)', ['4242'])), null, 'a real backend: the server')
  assert.equal(cancels.intercept(query('SELECT pg_cancel_backend($1), 1', ['1073741831'])), null)
  assert.equal(cancels.intercept(query('SELECT 1')), null)
  cancels.delete(client)
  assert.equal(cancels.intercept(query('SELECT pg_cancel_backend($1)', ['1073741831'])), null)
  assert.equal(cancelled, 2)
})
