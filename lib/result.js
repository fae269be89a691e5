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
 * Rows as pg gives them from the native column form (`columns[c][r]`): values finished by type,
 * then objects keyed by field name, or arrays with `rowMode: 'array'`.
 * @param {{ name: string, dataTypeID: number }[]} fields
 * @param {unknown[][]} columns
 * @param {'array' | undefined} rowMode
 * @param {ParserFor | undefined} parserFor
 */
function toRows(fields, columns, rowMode, parserFor) {
  const width = fields.length
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

module.exports = { toResult, toFields, toRows }
