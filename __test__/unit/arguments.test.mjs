// lib/arguments.js: every public call's argument checks. Each error is a TypeError with code
// ERR_INVALID_ARG_TYPE whose message names the call, the argument and what it got.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const {
  describe,
  readQueryArguments,
  readCursorArguments,
  readRowCount,
  readClientKind,
  readSessionArguments,
  readSql,
  readClassifyOptions,
  readManagerArguments,
} = require('../../lib/arguments.js')

/** Asserts that `fn` throws the argument error whose message matches `message`. */
function throwsArgument(fn, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof TypeError, `${err}`)
    assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
    assert.match(err.message, message)
    return true
  })
}

test('describe() shows a value the way error messages name it', () => {
  assert.equal(describe(null), 'null')
  assert.equal(describe([1]), 'an array')
  assert.equal(describe('x"y'), 'the string "x\\"y"')
  assert.equal(describe(42), 'a number')
  assert.equal(describe({}), 'an object')
  assert.equal(describe(undefined), 'undefined')
  assert.equal(
    describe(() => {}),
    'a function',
  )
})

test('query(text, values): text and values as node-postgres takes them', () => {
  const args = readQueryArguments('query', 'SELECT $1', [1])
  assert.deepEqual(args, {
    text: 'SELECT $1',
    values: ['1'],
    rowMode: undefined,
    route: null,
    consistency: null,
    minLsn: null,
  })
  assert.deepEqual(readQueryArguments('query', 'SELECT 1').values, [], 'no values')
  assert.deepEqual(readQueryArguments('query', 'SELECT 1', null).values, [], 'null values')
  const config = readQueryArguments('query', { text: 'SELECT $1', values: [true], rowMode: 'array' })
  assert.equal(config.text, 'SELECT $1')
  assert.deepEqual(config.values, ['true'])
  assert.equal(config.rowMode, 'array')
  assert.deepEqual(readQueryArguments('query', { text: 'x', values: [1] }, [2]).values, ['2'], 'values win over config')
})

test('values are prepared as pg prepares them', () => {
  const buffer = Buffer.from('ab')
  const { values } = readQueryArguments('query', 'x', [null, undefined, 1.5, 10n, buffer, [1, null, 'a"b'], { a: 1 }])
  assert.deepEqual(values, [null, null, '1.5', '10', buffer, '{"1",NULL,"a\\"b"}', '{"a":1}'])
})

test('query arguments: each bad one is named', () => {
  const q =
    (...args) =>
    () =>
      readQueryArguments('query', ...args)
  throwsArgument(q(42), /^query\(text\): text must be a SQL string or a query config \{ text, values \}, got a number$/)
  throwsArgument(q(null), /got null$/)
  throwsArgument(q(['SELECT 1']), /got an array$/)
  throwsArgument(q({ text: 1 }), /^query\(config\): config\.text must be a SQL string, got a number$/)
  throwsArgument(
    q('x', () => {}),
    /^query\(\) takes no callback: it returns a Promise$/,
  )
  throwsArgument(
    q('x', [], () => {}),
    /takes no callback/,
  )
  throwsArgument(q('x', 'y'), /^query\(text, values\): values must be an array, got the string "y"$/)
  throwsArgument(q('x', { 0: 1 }), /values must be an array, got an object/)
  throwsArgument(q({ text: 'x', rowMode: 'object' }), /^query\(config\): config\.rowMode must be 'array' when given/)
  throwsArgument(q('x', [], 'primary'), /^query\(text, values, options\): options must be an object, got the string/)
  throwsArgument(
    q('x', [], { route: 'elsewhere' }),
    /options\.route must be 'primary' or 'replica', got the string "elsewhere"/,
  )
  throwsArgument(
    q('x', [], { consistency: 'sometimes' }),
    /options\.consistency must be 'eventual', 'read-your-writes' or 'strong'/,
  )
  throwsArgument(
    q('x', [], { minLsn: 'nope' }),
    /options\.minLsn must be a WAL position such as '16\/B374D848', got the string "nope"/,
  )
  throwsArgument(q('x', [], { minLsn: 42 }), /options\.minLsn .* got a number/)
  throwsArgument(() => readQueryArguments('client.query', 1), /^client\.query\(text\)/)
})

test('query options: route, consistency, minLsn (parsed to a BigInt)', () => {
  const args = readQueryArguments('query', 'x', [], { route: 'replica', consistency: 'strong', minLsn: '16/B374D848' })
  assert.equal(args.route, 'replica')
  assert.equal(args.consistency, 'strong')
  assert.equal(args.minLsn, 0x16b374d848n)
  const none = readQueryArguments('query', 'x', [], { minLsn: null, route: undefined })
  assert.deepEqual([none.route, none.consistency, none.minLsn], [null, null, null])
  assert.equal(readQueryArguments('query', 'x', [], { minLsn: '0/0' }).minLsn, 0n)
  for (const mode of ['eventual', 'read-your-writes', 'strong']) {
    assert.equal(readQueryArguments('query', 'x', [], { consistency: mode }).consistency, mode)
  }
})

test('a pg Submittable (pg-cursor, pg-query-stream) is refused, pointing to cursor()', () => {
  for (const method of ['query', 'client.query']) {
    assert.throws(
      () => readQueryArguments(method, { text: 'SELECT 1', submit() {} }),
      (err) => {
        assert.ok(err instanceof TypeError)
        assert.equal(err.code, 'ERR_RRM_UNSUPPORTED')
        assert.ok(err.message.startsWith(`${method}() takes no pg Submittable`), err.message)
        assert.match(err.message, /manager\.cursor\(text, values, \{ batchSize \}\)/)
        return true
      },
    )
  }
})

test("cursor(text, values, options): query()'s arguments, batchSize (100) and rowMode", () => {
  const args = readCursorArguments('cursor', 'SELECT $1', [1], { route: 'replica', batchSize: 7 }, { routed: true })
  assert.deepEqual(args, {
    text: 'SELECT $1',
    values: ['1'],
    rowMode: undefined,
    route: 'replica',
    consistency: null,
    minLsn: null,
    batchSize: 7,
  })
  assert.equal(readCursorArguments('cursor', 'x', undefined, undefined, { routed: true }).batchSize, 100)
  assert.equal(readCursorArguments('cursor', 'x', [], { rowMode: 'array' }, { routed: true }).rowMode, 'array')
  assert.equal(
    readCursorArguments('cursor', { text: 'x', rowMode: 'array' }, [], {}, { routed: true }).rowMode,
    'array',
  )
  const client = readCursorArguments('client.cursor', 'x', [], { route: 'primary', batchSize: 2 }, { routed: false })
  assert.equal(client.route, null, 'a client does not route')
  const c = (text, values, options) => () => readCursorArguments('cursor', text, values, options, { routed: true })
  throwsArgument(
    c('x', [], { batchSize: 0 }),
    /^cursor\(text, values, options\): options\.batchSize: must be an integer from 1 to 2147483647, got a number$/,
  )
  throwsArgument(c('x', [], { batchSize: '10' }), /options\.batchSize: .* got the string "10"/)
  throwsArgument(c('x', [], { rowMode: 'object' }), /options\.rowMode must be 'array'/)
  throwsArgument(c('x', [], { route: 'x' }), /options\.route/)
  throwsArgument(c('x', [], 5), /^cursor\(text, values, options\): options must be an object, got a number$/)
  throwsArgument(c(5), /^cursor\(text\)/)
  assert.equal(readRowCount('read(rows)', 2 ** 31 - 1), 2 ** 31 - 1)
  throwsArgument(() => readRowCount('read(rows)', 2 ** 31), /^read\(rows\): must be an integer/)
})

test("getClient(kind): 'read' or 'write'", () => {
  assert.equal(readClientKind('read'), 'read')
  assert.equal(readClientKind('write'), 'write')
  throwsArgument(() => readClientKind('x'), /^getClient\(kind\): kind must be 'read' or 'write', got the string "x"$/)
  throwsArgument(() => readClientKind(null), /got null/)
})

test('withSession(fn, { minLsn })', () => {
  assert.deepEqual(
    readSessionArguments(() => {}),
    { position: null },
  )
  assert.deepEqual(
    readSessionArguments(() => {}, null),
    { position: null },
  )
  assert.deepEqual(
    readSessionArguments(() => {}, { minLsn: null }),
    { position: null },
  )
  assert.deepEqual(
    readSessionArguments(() => {}, { minLsn: '0/4c001470' }),
    { position: 0x4c001470n },
  )
  throwsArgument(() => readSessionArguments('fn'), /^withSession\(fn\): fn must be a function, got the string "fn"$/)
  throwsArgument(
    () => readSessionArguments(() => {}, { minLsn: 42 }),
    /^withSession\(fn, options\): options\.minLsn must be a WAL position such as '16\/B374D848', got a number$/,
  )
})

test('classifyQuery(sql, options)', () => {
  assert.equal(readSql('SELECT 1'), 'SELECT 1')
  throwsArgument(() => readSql(1), /^classifyQuery\(sql\): sql must be a string, got a number$/)
  assert.deepEqual(readClassifyOptions(undefined), { writeFunctions: null, readOnlyFunctions: null })
  assert.deepEqual(readClassifyOptions({ writeFunctions: ['f'], readOnlyFunctions: null }), {
    writeFunctions: ['f'],
    readOnlyFunctions: null,
  })
  throwsArgument(
    () => readClassifyOptions({ writeFunctions: 'f' }),
    /^classifyQuery\(sql, options\): options\.writeFunctions must be an array of function names$/,
  )
  throwsArgument(() => readClassifyOptions({ readOnlyFunctions: [1] }), /options\.readOnlyFunctions/)
})

test('initialize(primaryConfig, replicaConfigs, options): shapes, and the JS-only options split off', () => {
  const logger = { info() {}, warn() {}, error() {} }
  const onEvent = () => {}
  const args = readManagerArguments({ host: 'p' }, [{ host: 'r' }], { max: 4, logger, onEvent })
  assert.deepEqual(args, {
    primaryConfig: { host: 'p' },
    replicaConfigs: [{ host: 'r' }],
    passwords: [null, null],
    nativeOptions: { max: 4 },
    logger,
    onEvent,
  })
  assert.deepEqual(readManagerArguments({}, null, null).replicaConfigs, [])
  assert.deepEqual(readManagerArguments({}, undefined, undefined).nativeOptions, {})

  throwsArgument(() => readManagerArguments(null), /^primaryConfig must be an object, got null$/)
  throwsArgument(() => readManagerArguments([]), /^primaryConfig must be an object, got an array$/)
  throwsArgument(() => readManagerArguments({}, { host: 'x' }), /^replicaConfigs must be an array, got an object$/)
  throwsArgument(
    () => readManagerArguments({}, [{}, 'postgres://x']),
    /^replicaConfigs\[1\] must be an object, got the string/,
  )
  throwsArgument(() => readManagerArguments({}, [], []), /^options must be an object, got an array$/)
  throwsArgument(() => readManagerArguments({}, [], 5), /^options must be an object, got a number$/)
  throwsArgument(
    () => readManagerArguments({}, [], { logger: { info() {} } }),
    /^options\.logger must have info, warn and error methods/,
  )
  throwsArgument(
    () => readManagerArguments({}, [], { onEvent: 'log' }),
    /^options\.onEvent must be a function, got the string/,
  )
})

test("member configs: pg's JavaScript-only keys checked and kept from the native side", () => {
  const types = { getTypeParser: () => String }
  const Client = class {}
  const log = () => {}
  const primary = { host: 'p', types, Client, Promise, log, max: 5, password: 'secret' }
  const args = readManagerArguments(primary, [{ host: 'r', types: null }])
  assert.deepEqual(args.primaryConfig, { host: 'p', max: 5, password: 'secret' })
  assert.deepEqual(args.replicaConfigs, [{ host: 'r' }])
  assert.deepEqual(args.passwords, [null, null], 'a string password stays in the config')
  assert.equal(primary.types, types, "the caller's object is left as it was")

  // Inherited enumerable keys are read, as the native side reads them.
  const inherited = Object.create({ host: 'proto' })
  inherited.port = 5433
  assert.deepEqual(readManagerArguments(inherited).primaryConfig, { host: 'proto', port: 5433 })

  const throwsConfig = (fn, message) =>
    assert.throws(fn, (err) => {
      assert.ok(err instanceof TypeError, `${err}`)
      assert.equal(err.code, 'ERR_RRM_CONFIG')
      assert.match(err.message, message)
      return true
    })
  throwsConfig(
    () => readManagerArguments({ types: {} }),
    /^primaryConfig\.types must be a type parser set such as pg\.types \(with getTypeParser\), got an object$/,
  )
  throwsConfig(
    () => readManagerArguments({}, [{}, { Client: 'pg.Client' }]),
    /^replicaConfigs\[1\]\.Client must be a function, got the string "pg\.Client"$/,
  )
  throwsConfig(() => readManagerArguments({ log: true }), /^primaryConfig\.log must be a function, got a boolean$/)
  throwsConfig(() => readManagerArguments({ Promise: 1 }), /^primaryConfig\.Promise must be a function/)
})

test('member configs: a password function is wrapped for the native side, per member', async () => {
  const calls = []
  const fn = async (params) => {
    calls.push(params)
    return 'token'
  }
  const args = readManagerArguments({ password: fn }, [{ password: 'fixed' }, { password: () => 'sync' }])
  assert.equal(args.primaryConfig.password, fn, 'the native side sees that it is a function')
  assert.equal(args.passwords.length, 3)
  assert.equal(args.passwords[1], null)
  const params = { host: 'h', port: 5432, database: 'd', user: 'u' }
  assert.deepEqual(await args.passwords[0](params), { password: 'token' })
  assert.deepEqual(calls, [params], 'called with the connection parameters, as pg calls it')
  assert.deepEqual(await args.passwords[2](params), { password: 'sync' })
})
