'use strict'
// pg/query: a node-postgres `query()` call's arguments, read as pg reads them (`text` or a config
// object, values, a callback), and how its outcome reaches a callback or a Promise.

const { argumentError, pgMessages, unsupportedError } = require('../errors')
const { prepareValue } = require('../values')

/**
 * `(config | text, values?, callback?)` → `{ text, values, rowMode, types, name, callback }`, values
 * prepared as pg sends them. Throws what pg throws synchronously (a null query, a callback that is
 * not a function); other problems are returned as `error`, to reach the callback or the Promise.
 */
function readPgQuery(config, values, callback) {
  if (config == null) throw new TypeError(pgMessages.NULL_QUERY)
  const query = typeof config === 'string' ? { text: config } : config
  let cb = query.callback
  let vals = query.values
  if (typeof values === 'function') cb = values
  else if (values) vals = values
  if (callback) cb = callback
  if (cb !== undefined && typeof cb !== 'function') throw new TypeError(pgMessages.CALLBACK)
  const read = {
    text: query.text,
    values: [],
    rowMode: query.rowMode,
    types: query.types,
    name: query.name,
    callback: cb,
  }
  read.error = problem(query, vals)
  if (read.error === null && vals) read.values = vals.map((v) => prepareValue(v))
  return read
}

function problem(query, values) {
  if (typeof query.submit === 'function') {
    return unsupportedError(
      'query(): pg-cursor / pg-query-stream objects cannot run on this package; use manager.cursor(text, values, { batchSize }) for rows in batches',
    )
  }
  if (typeof query.text !== 'string')
    return argumentError(`query(): the query text must be a string, got ${typeof query.text}`)
  if (query.binary)
    return unsupportedError(
      'query(): binary results (config.binary) are not supported; results come as pg gives them in text mode',
    )
  // pg's own message.
  if (values != null && !Array.isArray(values)) return new Error('Query values must be an array')
  if (query.rowMode !== undefined && query.rowMode !== 'array') {
    return argumentError("query(): config.rowMode must be 'array' when given")
  }
  if (query.types !== undefined && typeof query.types?.getTypeParser !== 'function') {
    return argumentError('query(): config.types must have a getTypeParser(oid, format) function')
  }
  return null
}

/** Hands `promise`'s outcome to `callback` (on a later tick, as pg does) or returns the promise. */
function settle(promise, callback) {
  if (callback === undefined) return promise
  promise.then(
    (result) => process.nextTick(callback, null, result),
    (err) => process.nextTick(callback, err),
  )
  return undefined
}

module.exports = { readPgQuery, settle }
