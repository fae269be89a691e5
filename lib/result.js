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
  if (columns.length > width) return packedRows(fields, columns, rowMode, parserFor)
  const count = width === 0 ? 0 : columns[0].length
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

/**
 * Rows from packed columns: the rows are made first, then filled a column at a time straight from
 * each column's packed form, with no array of values per column in between (for a 1,000-row,
 * 6-column result that is about a fifth less to allocate, and less time). Columns are filled in
 * order, null included, so later columns win on duplicate names.
 */
function packedRows(fields, columns, rowMode, parserFor) {
  const width = fields.length
  const count = columns[width]
  const rows = newRows(fields, count, rowMode === 'array')
  for (let c = 0; c < width; c++) {
    const oid = fields[c].dataTypeID
    const parse = parserFor?.(oid) ?? parsers.get(oid)
    fillPacked(rows, rowMode === 'array' ? c : fields[c].name, columns[c], count, parse)
  }
  return rows
}

/** `count` empty rows: arrays of `width`, or objects, made from one template from two rows on. */
function newRows(fields, count, asArrays) {
  const width = fields.length
  const rows = new Array(count)
  if (asArrays) {
    for (let r = 0; r < count; r++) rows[r] = new Array(width)
  } else if (count < 2) {
    for (let r = 0; r < count; r++) rows[r] = {}
  } else {
    // As in toRows: copies of one template.
    const template = {}
    for (let c = 0; c < width; c++) template[fields[c].name] = null
    for (let r = 0; r < count; r++) rows[r] = { ...template }
  }
  return rows
}

/** Sets `rows[r][key]` from a per-value column, parsed when not null. */
function fillValues(rows, key, values, count, parse) {
  if (parse === undefined) {
    for (let r = 0; r < count; r++) rows[r][key] = values[r]
  } else {
    for (let r = 0; r < count; r++) {
      const value = values[r]
      rows[r][key] = value === null ? null : parse(value)
    }
  }
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
 * Sets `rows[r][key]` from one packed column: the value the per-value form has, parsed when not
 * null. `nullRows` lists null rows in ascending order; `nextNull` walks it.
 */
function fillPacked(rows, key, packed, count, parse) {
  switch (packed[0]) {
    case VALUES:
      fillValues(rows, key, packed[1], count, parse)
      return
    case NUMBERS:
    case INSTANTS: {
      const values = packed[1]
      const nullRows = packed[2]
      const instants = packed[0] === INSTANTS
      let n = 0
      let nextNull = nullRows === null ? -1 : nullRows[0]
      for (let r = 0; r < count; r++) {
        if (r === nextNull) {
          rows[r][key] = null
          nextNull = ++n < nullRows.length ? nullRows[n] : -1
        } else {
          const ms = values[r]
          // Instants become Dates; pg gives ±Infinity (numbers) for infinite timestamps.
          const value = instants && ms !== Infinity && ms !== -Infinity ? new Date(ms) : ms
          rows[r][key] = parse === undefined ? value : parse(value)
        }
      }
      return
    }
    case BOOLS: {
      const values = packed[1]
      for (let r = 0; r < count; r++) {
        const b = values[r]
        rows[r][key] = b === 2 ? null : parse === undefined ? b === 1 : parse(b === 1)
      }
      return
    }
    case TEXT: {
      const text = packed[1]
      const ends = packed[2]
      const nullRows = packed[3]
      let n = 0
      let nextNull = nullRows === null ? -1 : nullRows[0]
      let start = 0
      for (let r = 0; r < count; r++) {
        const end = ends[r]
        if (r === nextNull) {
          rows[r][key] = null
          nextNull = ++n < nullRows.length ? nullRows[n] : -1
        } else {
          const value = text.slice(start, end)
          rows[r][key] = parse === undefined ? value : parse(value)
        }
        start = end
      }
      return
    }
    case DICT: {
      const strings = packed[1]
      const index = packed[2]
      for (let r = 0; r < count; r++) {
        const value = strings[index[r]]
        rows[r][key] = value === null || parse === undefined ? value : parse(value)
      }
      return
    }
    case NULLS:
      for (let r = 0; r < count; r++) rows[r][key] = null
      return
    default:
      throw new Error(`unknown packed column kind ${packed[0]}`)
  }
}

module.exports = { toResult, toFields, toRows }
