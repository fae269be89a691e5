'use strict'
// pg: `manager.pg`, an object shaped like the node-postgres module and bound to one manager, for
// the libraries that take a pg module, Pool or Client (Drizzle, Kysely, Knex, Sequelize, TypeORM,
// MikroORM, Prisma's adapter). See README "ORMs and node-postgres code".

const { Cancels } = require('./cancel')
const { clientClass } = require('./client')
const { escapeIdentifier, escapeLiteral } = require('./escape')
const { poolClass } = require('./pool')
const { createTypes, typeOverridesClass } = require('./types')

/**
 * pg's DatabaseError, as a class `instanceof` recognises the manager's server errors by: they are
 * Errors carrying the server's `severity` and SQLSTATE `code`, as pg's are.
 */
class DatabaseError extends Error {
  static [Symbol.hasInstance](value) {
    return value instanceof Error && typeof value.severity === 'string' && typeof value.code === 'string'
  }
}

/** pg's `defaults`, with the `parseInt8` switch that TypeORM and others set. */
function createDefaults(types) {
  const defaults = {
    host: 'localhost',
    user: process.platform === 'win32' ? process.env.USERNAME : process.env.USER,
    database: undefined,
    password: null,
    port: 5432,
    rows: 0,
    binary: false,
    max: 10,
    idleTimeoutMillis: 30_000,
    client_encoding: '',
    ssl: false,
    application_name: undefined,
    fallback_application_name: undefined,
    options: undefined,
    parseInputDatesAsUTC: false,
    statement_timeout: false,
    lock_timeout: false,
    idle_in_transaction_session_timeout: false,
    query_timeout: false,
    connect_timeout: 0,
    keepalives: 1,
    keepalives_idle: 0,
  }
  let parseInt8 = false
  Object.defineProperty(defaults, 'parseInt8', {
    enumerable: true,
    get: () => parseInt8,
    // As pg: int8 (and int8[]) parsed as int4 (and int4[]) are, or back to strings.
    set(value) {
      parseInt8 = Boolean(value)
      if (parseInt8) {
        types.setTypeParser(20, 'text', types.builtin(23))
        types.setTypeParser(1016, 'text', types.builtin(1007))
      } else {
        types.forget(20)
        types.forget(1016)
      }
    },
  })
  return defaults
}

/**
 * @param manager the manager's internals: `native` (NativeManager), `dispatcher`, `sessions`,
 *   `tracing`, and `closed()`
 */
function createPg(manager) {
  const link = { ...manager, cancels: new Cancels() }
  const types = createTypes()
  const TypeOverrides = typeOverridesClass(types)
  const Client = clientClass(link, TypeOverrides)
  const Pool = poolClass(link, Client, TypeOverrides)
  return {
    Pool,
    Client,
    types: types.api,
    TypeOverrides,
    defaults: createDefaults(types),
    DatabaseError,
    escapeIdentifier,
    escapeLiteral,
    // TypeORM and Sequelize switch to `.native` (pg-native) when it is truthy.
    native: null,
  }
}

module.exports = { createPg, DatabaseError }
