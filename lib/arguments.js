'use strict'
// arguments: the checks of every public call's arguments — the one validation layer (the native
// side trusts what passes here). Each error names the call, the argument and what it got.

const { argumentError, configError, unsupportedError } = require('./errors')
const { parseLsn } = require('./lsn')
const { passwordCallback } = require('./password')
const { prepareValue } = require('./values')

const CONSISTENCY = ['eventual', 'read-your-writes', 'strong']

/** A value as an error message shows it: `the string "x"`, `a number`, `null`, `an array`. */
function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (value === undefined) return 'undefined'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value)

/**
 * Reads `query(text, values, options)` the way node-postgres does: `text` may be a query config
 * object `{ text, values, rowMode }`. Returns `{ text, values, rowMode, route, consistency,
 * minLsn }` — values prepared as pg sends them, `minLsn` parsed to a BigInt — or throws.
 */
function readQueryArguments(method, text, values, options) {
  let rowMode
  if (isObject(text) && typeof text.submit === 'function') {
    throw unsupportedError(
      `${method}() takes no pg Submittable (pg-cursor, pg-query-stream, …): it resolves with the whole result. ` +
        'To read a large result a batch at a time, use manager.cursor(text, values, { batchSize }) ' +
        "(or client.cursor() on a client from getClient()): an async iterator of rows with read(n) and close(), as pg-cursor's",
    )
  }
  if (isObject(text)) {
    const config = text
    if (typeof config.text !== 'string') {
      throw argumentError(`${method}(config): config.text must be a SQL string, got ${describe(config.text)}`)
    }
    text = config.text
    if (values === undefined || typeof values === 'function') values = config.values
    rowMode = config.rowMode
  } else if (typeof text !== 'string') {
    throw argumentError(
      `${method}(text): text must be a SQL string or a query config { text, values }, got ${describe(text)}`,
    )
  }
  if (typeof values === 'function' || typeof options === 'function') {
    throw argumentError(`${method}() takes no callback: it returns a Promise`)
  }
  if (values === undefined || values === null) values = []
  if (!Array.isArray(values)) {
    throw argumentError(`${method}(text, values): values must be an array, got ${describe(values)}`)
  }
  if (rowMode !== undefined && rowMode !== 'array') {
    throw argumentError(`${method}(config): config.rowMode must be 'array' when given, got ${describe(rowMode)}`)
  }
  let route = null
  let consistency = null
  let minLsn = null
  if (options !== undefined && options !== null) {
    const where = `${method}(text, values, options)`
    if (typeof options !== 'object') {
      throw argumentError(`${where}: options must be an object, got ${describe(options)}`)
    }
    if (options.consistency !== undefined) {
      if (!CONSISTENCY.includes(options.consistency)) {
        throw argumentError(
          `${where}: options.consistency must be 'eventual', 'read-your-writes' or 'strong', got ${describe(options.consistency)}`,
        )
      }
      consistency = options.consistency
    }
    if (options.minLsn !== undefined && options.minLsn !== null) {
      minLsn = readLsn(where, options.minLsn)
    }
    if (options.route !== undefined) {
      if (options.route !== 'primary' && options.route !== 'replica') {
        throw argumentError(`${where}: options.route must be 'primary' or 'replica', got ${describe(options.route)}`)
      }
      route = options.route
    }
  }
  return { text, values: values.map((v) => prepareValue(v)), rowMode, route, consistency, minLsn }
}

/** The largest row count one request can ask for (the protocol's is a signed 32-bit number). */
const MAX_ROWS = 0x7fffffff

/** A count of rows to read at once (`batchSize`, `read(rows)`): an integer from 1 to 2³¹−1. */
function readRowCount(where, rows) {
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_ROWS) {
    throw argumentError(`${where}: must be an integer from 1 to ${MAX_ROWS}, got ${describe(rows)}`)
  }
  return rows
}

/**
 * Reads `cursor(text, values, options)`: the text and values as query() takes them (a query
 * config too), and options `{ batchSize = 100, rowMode }`, plus, on the manager
 * (`routed`), query()'s `route`, `consistency` and `minLsn`. Returns query()'s arguments with
 * `batchSize`, or throws.
 */
function readCursorArguments(method, text, values, options, { routed }) {
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw argumentError(`${method}(text, values, options): options must be an object, got ${describe(options)}`)
  }
  const args = readQueryArguments(method, text, values, routed ? options : undefined)
  const where = `${method}(text, values, options)`
  const batchSize = options?.batchSize ?? 100
  readRowCount(`${where}: options.batchSize`, batchSize)
  const rowMode = options?.rowMode ?? args.rowMode
  if (rowMode !== undefined && rowMode !== 'array') {
    throw argumentError(`${where}: options.rowMode must be 'array' when given, got ${describe(rowMode)}`)
  }
  return { ...args, rowMode, batchSize }
}

/** `options.minLsn` of `where` as a BigInt, or throws. */
function readLsn(where, text) {
  const position = parseLsn(text)
  if (position === null) {
    throw argumentError(`${where}: options.minLsn must be a WAL position such as '16/B374D848', got ${describe(text)}`)
  }
  return position
}

/** `getClient(kind)`: 'read' or 'write'. */
function readClientKind(kind) {
  if (kind !== 'read' && kind !== 'write') {
    throw argumentError(`getClient(kind): kind must be 'read' or 'write', got ${describe(kind)}`)
  }
  return kind
}

/** `withSession(fn, { minLsn })`: returns the position the session's reads must see (a BigInt), or null. */
function readSessionArguments(fn, options) {
  if (typeof fn !== 'function') throw argumentError(`withSession(fn): fn must be a function, got ${describe(fn)}`)
  const minLsn = options?.minLsn
  if (minLsn === undefined || minLsn === null) return { position: null }
  return { position: readLsn('withSession(fn, options)', minLsn) }
}

/** `classifyQuery(sql)`, on the manager and on its own. */
function readSql(sql) {
  if (typeof sql !== 'string') throw argumentError(`classifyQuery(sql): sql must be a string, got ${describe(sql)}`)
  return sql
}

/** `getQueryStats({ limit })`: the limit (a whole number ≥ 0), or null for all. */
function readStatsLimit(options) {
  if (options === undefined || options === null) return null
  if (typeof options !== 'object') {
    throw argumentError(`getQueryStats(options): options must be an object, got ${describe(options)}`)
  }
  const { limit } = options
  if (limit === undefined || limit === null) return null
  if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) {
    throw argumentError(`getQueryStats(options): options.limit must be a whole number ≥ 0, got ${describe(limit)}`)
  }
  return limit
}

/** `classifyQuery(sql, { writeFunctions, readOnlyFunctions })`: each an array of names, or null. */
function readClassifyOptions(options) {
  const list = (key) => {
    const value = options?.[key]
    if (value === undefined || value === null) return null
    if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
      throw argumentError(`classifyQuery(sql, options): options.${key} must be an array of function names`)
    }
    return value
  }
  return { writeFunctions: list('writeFunctions'), readOnlyFunctions: list('readOnlyFunctions') }
}

/**
 * `initializeReadReplicaManager(primaryConfig, replicaConfigs, options)`: the shapes, and the
 * config keys only JavaScript can take (the native side checks every other field and option
 * value). Returns the configs for the native side, each member's password function (wrapped,
 * primary first; null for none), the options meant for the native side, and the JS-side
 * `logger` / `onEvent`.
 */
function readManagerArguments(primaryConfig, replicaConfigs, options) {
  if (!isObject(primaryConfig)) {
    throw argumentError(`primaryConfig must be an object, got ${describe(primaryConfig)}`)
  }
  if (replicaConfigs === undefined || replicaConfigs === null) replicaConfigs = []
  if (!Array.isArray(replicaConfigs)) {
    throw argumentError(`replicaConfigs must be an array, got ${describe(replicaConfigs)}`)
  }
  replicaConfigs.forEach((config, i) => {
    if (!isObject(config)) throw argumentError(`replicaConfigs[${i}] must be an object, got ${describe(config)}`)
  })
  if (options === undefined || options === null) options = {}
  if (!isObject(options)) throw argumentError(`options must be an object, got ${describe(options)}`)
  const { logger, onEvent, ...nativeOptions } = options
  if (logger !== undefined && !['info', 'warn', 'error'].every((m) => typeof logger?.[m] === 'function')) {
    throw argumentError('options.logger must have info, warn and error methods (console, pino and winston do)')
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw argumentError(`options.onEvent must be a function, got ${describe(onEvent)}`)
  }
  const members = [
    readMemberConfig('primaryConfig', primaryConfig),
    ...replicaConfigs.map((config, i) => readMemberConfig(`replicaConfigs[${i}]`, config)),
  ]
  return {
    primaryConfig: members[0].config,
    replicaConfigs: members.slice(1).map((m) => m.config),
    passwords: members.map((m) => m.password),
    nativeOptions,
    logger,
    onEvent,
  }
}

/**
 * pg config keys that only JavaScript can use: `types` (pg's type parsers), and the `Client`
 * and `Promise` constructors and `log` function of pg-pool. They are checked here and not passed
 * to the native side.
 */
const JS_ONLY_KEYS = ['types', 'Client', 'Promise', 'log']

/**
 * One member config (`label` names it in errors): a copy without the JavaScript-only keys, and
 * its password function wrapped for the native side (null when the password is not a function;
 * the native side checks and uses every other password, never showing it).
 */
function readMemberConfig(label, config) {
  const types = config.types
  if (types !== undefined && types !== null && typeof types?.getTypeParser !== 'function') {
    throw configError(
      `${label}.types must be a type parser set such as pg.types (with getTypeParser), got ${describe(types)}`,
    )
  }
  for (const key of ['Client', 'Promise', 'log']) {
    const value = config[key]
    if (value !== undefined && value !== null && typeof value !== 'function') {
      throw configError(`${label}.${key} must be a function, got ${describe(value)}`)
    }
  }
  const copy = {}
  // for…in, like the native side's read: enumerable keys, inherited ones too.
  for (const key in config) {
    if (!JS_ONLY_KEYS.includes(key)) copy[key] = config[key]
  }
  const password = typeof config.password === 'function' ? passwordCallback(config.password) : null
  return { config: copy, password }
}

module.exports = {
  CONSISTENCY,
  describe,
  readQueryArguments,
  readCursorArguments,
  readRowCount,
  readClientKind,
  readSessionArguments,
  readSql,
  readStatsLimit,
  readClassifyOptions,
  readManagerArguments,
}
