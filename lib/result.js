'use strict'
// result: node-postgres-shaped results built from the native column form. Row objects are made
// here, once per result (or per cursor batch), which is cheaper than setting each property
// through Node-API.

const { parsers } = require('./values')

/**
 * One native reply, `[isBatch, writeLsn, result…]`: a Result, or an array of them for a
 * multi-statement text (as pg). `writeLsn` is read by the caller (sessions), not here.
 * @param {unknown[]} reply
 * @param {'array' | undefined} rowMode
 * @param {ParserFor | undefined} parserFor
 */
function toResult(reply, rowMode, parserFor) {
  if (!reply[0]) return toOneResult(reply[2], rowMode, parserFor)
  const results = new Array(reply.length - 2)
  for (let i = 2; i < reply.length; i++) results[i - 2] = toOneResult(reply[i], rowMode, parserFor)
  return results
}

/**
 * A custom parser for a type, given the text pg would give it (the native side sends text for
 * those types), or null for pg's default form (manager.pg's type parsers).
 * @typedef {(oid: number) => ((text: string) => unknown) | null} ParserFor
 */

/**
 * @param {[string | null, number | null, number | null, unknown[], unknown[][]]} raw
 *   command, rowCount, oid, fields (6 entries per column), columns
 * @param {'array' | undefined} rowMode
 * @param {ParserFor | undefined} parserFor
 */
function toOneResult(raw, rowMode, parserFor) {
  const fields = toFields(raw[3])
  return {
    command: raw[0],
    rowCount: raw[1],
    oid: raw[2],
    rows: toRows(fields, raw[4], rowMode, parserFor),
    fields,
    rowAsArray: rowMode === 'array',
  }
}

/** pg's field descriptions from the native flat form (6 entries per column). */
function toFields(flat) {
  const width = flat.length / 6
  const fields = new Array(width)
  for (let c = 0; c < width; c++) {
    const at = c * 6
    fields[c] = {
      name: flat[at],
      tableID: flat[at + 1],
      columnID: flat[at + 2],
      dataTypeID: flat[at + 3],
      dataTypeSize: flat[at + 4],
      dataTypeModifier: flat[at + 5],
      format: 'text',
    }
  }
  return fields
}

/**
 * Rows as pg gives them from the native column form: values finished by type, then objects
 * keyed by field name, or arrays with `rowMode: 'array'`. `columns` is `columns[c][r]`, or for a
 * wide result packed by the native side (src/js/pack.rs) one packed column per field followed
 * by the row count: `[column…, rows]`.
 * @param {{ name: string, dataTypeID: number }[]} fields
 * @param {unknown[]} columns
 * @param {'array' | undefined} rowMode
 * @param {ParserFor | undefined} parserFor
 */
function toRows(fields, columns, rowMode, parserFor) {
  const width = fields.length
  let count = width === 0 ? 0 : columns[0].length
  if (columns.length > width) {
    count = columns[width]
    const unpacked = new Array(width)
    for (let c = 0; c < width; c++) unpacked[c] = unpack(columns[c], count)
    columns = unpacked
  }
  for (let c = 0; c < width; c++) {
    const oid = fields[c].dataTypeID
    const parse = parserFor?.(oid) ?? parsers.get(oid)
    if (parse !== undefined) {
      const column = columns[c]
      for (let r = 0; r < column.length; r++) {
        if (column[r] !== null) column[r] = parse(column[r])
      }
    }
  }
  const rows = new Array(count)
  if (rowMode === 'array') {
    for (let r = 0; r < count; r++) {
      const row = new Array(width)
      for (let c = 0; c < width; c++) row[c] = columns[c][r]
      rows[r] = row
    }
    return rows
  }
  const names = fields.map((f) => f.name)
  if (count < 2) {
    for (let r = 0; r < count; r++) {
      const row = {}
      // Later columns win on duplicate names, as in pg.
      for (let c = 0; c < width; c++) row[names[c]] = columns[c][r]
      rows[r] = row
    }
    return rows
  }
  // Every row a copy of one template, as pg does (one shape, no transitions while filling).
  const template = {}
  for (let c = 0; c < width; c++) template[names[c]] = null
  for (let r = 0; r < count; r++) {
    const row = { ...template }
    for (let c = 0; c < width; c++) row[names[c]] = columns[c][r]
    rows[r] = row
  }
  return rows
}

// Packed column kinds: `[kind, …]`, as src/js/pack.rs writes them.
const VALUES = 0 // [0, values]
const NUMBERS = 1 // [1, Float64Array, nullRows: Uint32Array | null]
const INSTANTS = 2 // [2, Float64Array, nullRows]: Dates, ±Infinity kept as numbers
const BOOLS = 3 // [3, Uint8Array]: 0 false, 1 true, 2 null
const TEXT = 4 // [4, text, ends: Uint32Array (UTF-16 offsets), nullRows]
const DICT = 5 // [5, strings (null for null), index: Uint32Array]
const NULLS = 6 // [6]

/**
 * One packed column as the values of the per-value form (an array of `count` values).
 * @param {unknown[]} packed
 * @param {number} count
 */
function unpack(packed, count) {
  switch (packed[0]) {
    case VALUES:
      return packed[1]
    case NUMBERS: {
      const values = packed[1]
      const out = new Array(count)
      for (let r = 0; r < count; r++) out[r] = values[r]
      return withNulls(out, packed[2])
    }
    case INSTANTS: {
      const values = packed[1]
      const out = new Array(count)
      for (let r = 0; r < count; r++) {
        const ms = values[r]
        // pg gives ±Infinity (numbers) for infinite timestamps.
        out[r] = ms === Infinity || ms === -Infinity ? ms : new Date(ms)
      }
      return withNulls(out, packed[2])
    }
    case BOOLS: {
      const values = packed[1]
      const out = new Array(count)
      for (let r = 0; r < count; r++) {
        const b = values[r]
        out[r] = b === 2 ? null : b === 1
      }
      return out
    }
    case TEXT: {
      const text = packed[1]
      const ends = packed[2]
      const out = new Array(count)
      let start = 0
      for (let r = 0; r < count; r++) {
        const end = ends[r]
        out[r] = text.slice(start, end)
        start = end
      }
      return withNulls(out, packed[3])
    }
    case DICT: {
      const strings = packed[1]
      const index = packed[2]
      const out = new Array(count)
      for (let r = 0; r < count; r++) out[r] = strings[index[r]]
      return out
    }
    case NULLS:
      return new Array(count).fill(null)
    default:
      throw new Error(`unknown packed column kind ${packed[0]}`)
  }
}

function withNulls(values, nullRows) {
  if (nullRows !== null) for (let i = 0; i < nullRows.length; i++) values[nullRows[i]] = null
  return values
}

module.exports = { toResult, toFields, toRows, unpack }
