'use strict'
// classify: classifyQuery(), the router's decision for a statement without a manager (no
// connection is made).

const native = require('./native')
const { readClassifyOptions, readSql } = require('./arguments')

/**
 * Where the router sends `sql`, and why: `{ route: 'replica' | 'primary' | 'reject', reason }`.
 * `options.writeFunctions` / `readOnlyFunctions` adjust the write-function list as the manager
 * options of the same names do.
 */
function classifyQuery(sql, options = {}) {
  readSql(sql)
  const { writeFunctions, readOnlyFunctions } = readClassifyOptions(options)
  return native.classifyQuery(sql, writeFunctions, readOnlyFunctions)
}

module.exports = { classifyQuery }
