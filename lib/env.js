'use strict'
// env: the guide's environment variables (docs/guide.md, "Environment Configuration") read into
// node configs. Pure: it takes the environment as an argument.

const { describe } = require('./arguments')
const { envError } = require('./errors')

/** `DB_PORT`-style: a whole number from 1 to 65535. */
function envPort(name, text) {
  const port = Number(text)
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw envError(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(text)}`)
  }
  return port
}

/**
 * Reads the guide's environment: the primary from DATABASE_URL or DB_HOST / DB_PORT / DB_NAME /
 * DB_USER / DB_PASSWORD, the replicas from DB_REPLICAS (a JSON array of config objects or
 * connection strings). The pool and health settings (DB_POOL_*, REPLICA_HEALTH_CHECK_INTERVAL)
 * are read by the native side itself. Bad values throw naming the variable; a password is never
 * echoed.
 */
function configsFromEnv(env) {
  let primaryConfig
  if (env.DATABASE_URL) {
    primaryConfig = { connectionString: env.DATABASE_URL }
  } else {
    if (!env.DB_HOST) throw envError('DB_HOST is required (or set DATABASE_URL to a connection string)')
    primaryConfig = { host: env.DB_HOST }
    if (env.DB_PORT !== undefined && env.DB_PORT !== '') primaryConfig.port = envPort('DB_PORT', env.DB_PORT)
    if (env.DB_NAME) primaryConfig.database = env.DB_NAME
    if (env.DB_USER) primaryConfig.user = env.DB_USER
    if (env.DB_PASSWORD !== undefined) primaryConfig.password = env.DB_PASSWORD
  }
  let replicaConfigs = []
  if (env.DB_REPLICAS !== undefined && env.DB_REPLICAS.trim() !== '') {
    let parsed
    try {
      parsed = JSON.parse(env.DB_REPLICAS)
    } catch (err) {
      // V8's message quotes the text, which may hold passwords: keep only the position.
      const at = /position (\d+)/.exec(err.message)
      throw envError(
        `DB_REPLICAS is not valid JSON${at ? ` (error at position ${at[1]})` : ''}: expected an array of replica configs`,
      )
    }
    if (!Array.isArray(parsed)) {
      throw envError(`DB_REPLICAS must be a JSON array of replica configs, got ${describe(parsed)}`)
    }
    replicaConfigs = parsed.map((entry, i) => {
      if (typeof entry === 'string') return { connectionString: entry }
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw envError(`DB_REPLICAS[${i}] must be a config object or a connection string, got ${describe(entry)}`)
      }
      if (typeof entry.port === 'string') entry.port = envPort(`DB_REPLICAS[${i}].port`, entry.port)
      return entry
    })
  }
  return { primaryConfig, replicaConfigs }
}

module.exports = { configsFromEnv, envPort }
