'use strict'
// values: parameters out and JS-side value parsing in, exactly as node-postgres 8 does them.
//
// Parameters are prepared here as pg's `prepareValue` prepares them (text, or a Buffer for binary),
// so the server parses them the same way. Most result values arrive from Rust in their final
// form; the few whose JS form depends on the process (local time zone), is cheapest made by V8
// (JSON.parse) or is a class of pg's own (PostgresInterval, from the package pg uses) are
// finished here, chosen by type OID.

const parseInterval = require('postgres-interval')

/** Turns one query parameter into what node-postgres sends: null, a string, or a Buffer. */
function prepareValue(value, seen) {
  if (value === null || value === undefined) return null
  if (typeof value !== 'object') return value.toString()
  if (Buffer.isBuffer(value)) return value
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof Date) return dateToString(value)
  if (Array.isArray(value)) return arrayLiteral(value)
  if (typeof value.toPostgres === 'function') {
    seen = seen || []
    if (seen.includes(value)) {
      throw new Error(`circular reference detected while preparing "${value}" for query`)
    }
    seen.push(value)
    return prepareValue(value.toPostgres(prepareValue), seen)
  }
  return JSON.stringify(value)
}

/** A JS array as a PostgreSQL array literal, elements quoted and escaped. */
function arrayLiteral(values) {
  const parts = values.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    if (Array.isArray(item)) return arrayLiteral(item)
    if (ArrayBuffer.isView(item)) {
      return `\\\\x${Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('hex')}`
    }
    const text = prepareValue(item)
    return `"${String(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  })
  return `{${parts.join(',')}}`
}

const pad = (n, width) => String(n).padStart(width, '0')

/** A Date as local time with its UTC offset, as pg sends it (parseInputDatesAsUTC off). */
function dateToString(date) {
  let offset = -date.getTimezoneOffset()
  let year = date.getFullYear()
  const bc = year < 1
  if (bc) year = Math.abs(year) + 1
  let text =
    `${pad(year, 4)}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)}` +
    `T${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}` +
    `.${pad(date.getMilliseconds(), 3)}`
  text += offset < 0 ? '-' : '+'
  offset = Math.abs(offset)
  text += `${pad(Math.floor(offset / 60), 2)}:${pad(offset % 60, 2)}`
  return bc ? `${text} BC` : text
}

/** A wall-clock time sent as naive epoch milliseconds, read in the local time zone as pg does. */
function localDate(ms) {
  if (!Number.isFinite(ms)) return ms // ±Infinity, as pg returns for 'infinity'
  const wall = new Date(ms)
  const date = new Date(
    wall.getUTCFullYear(),
    wall.getUTCMonth(),
    wall.getUTCDate(),
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds(),
    wall.getUTCMilliseconds(),
  )
  if (wall.getUTCFullYear() < 100) date.setFullYear(wall.getUTCFullYear())
  return date
}

const eachElement = (parse) =>
  function parseArray(value) {
    return value === null ? null : Array.isArray(value) ? value.map(parseArray) : parse(value)
  }

/** Parsers for the types finished in JS, by type OID (scalar and array types). */
const parsers = new Map([
  [114, JSON.parse], // json
  [3802, JSON.parse], // jsonb
  [199, eachElement(JSON.parse)], // json[]
  [3807, eachElement(JSON.parse)], // jsonb[]
  [1082, localDate], // date
  [1114, localDate], // timestamp
  [1182, eachElement(localDate)], // date[]
  [1115, eachElement(localDate)], // timestamp[]
  [1186, parseInterval], // interval: the same PostgresInterval objects pg returns
  [1187, eachElement(parseInterval)], // interval[]
])

module.exports = { prepareValue, parsers }
