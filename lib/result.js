'use strict'
// Builds node-postgres-shaped results from the native column form: row objects are made here,
// once per result, which is cheaper than setting each property through Node-API.

const { parsers } = require('./values')

/**
 * One native reply: a result, or an array of results for a multi-statement text (as pg).
 * @param {object | object[]} reply
 * @param {'array' | undefined} rowMode
 */
function toResult(reply, rowMode) {
  return Array.isArray(reply) ? reply.map((raw) => toOneResult(raw, rowMode)) : toOneResult(reply, rowMode)
}

/**
 * @param {{ command: string | null, rowCount: number | null, oid: number | null, fields: object[], columns: unknown[][] }} raw
 * @param {'array' | undefined} rowMode
 */
function toOneResult(raw, rowMode) {
  const { fields, columns } = raw
  const width = fields.length
  for (let c = 0; c < width; c++) {
    const parse = parsers.get(fields[c].dataTypeID)
    if (parse !== undefined) {
      const column = columns[c]
      for (let r = 0; r < column.length; r++) {
        if (column[r] !== null) column[r] = parse(column[r])
      }
    }
  }
  const count = width === 0 ? 0 : columns[0].length
  const rows = new Array(count)
  if (rowMode === 'array') {
    for (let r = 0; r < count; r++) {
      const row = new Array(width)
      for (let c = 0; c < width; c++) row[c] = columns[c][r]
      rows[r] = row
    }
  } else {
    const names = fields.map((f) => f.name)
    for (let r = 0; r < count; r++) {
      const row = {}
      // Later columns win on duplicate names, as in pg.
      for (let c = 0; c < width; c++) row[names[c]] = columns[c][r]
      rows[r] = row
    }
  }
  return {
    command: raw.command,
    rowCount: raw.rowCount,
    oid: raw.oid,
    rows,
    fields,
    rowAsArray: rowMode === 'array',
  }
}

module.exports = { toResult }
