'use strict'
// read-replica-manager: the public API. A thin facade over the native binding (binding.js, made
// by `napi build`): argument checks, the singleton, pg-shaped results and clients.

const { AsyncLocalStorage } = require('node:async_hooks')
const native = require('./binding.js')
const { prepareValue } = require('./lib/values')
const { toResult } = require('./lib/result')

const NOT_INITIALIZED = 'Read replica manager not initialized'
const CLOSED = 'Read replica manager is closed'

/** createManager returns the manager or an Error instance; the latter is thrown here. */
function unwrap(value) {
  if (value instanceof Error) throw value
  return value
}

function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `a ${typeof value}`
}

function argumentError(message) {
  const err = new TypeError(message)
  err.code = 'ERR_INVALID_ARG_TYPE'
  return err
}

/**
 * Reads `query(text, values, options)` the way node-postgres does: `text` may be a query config
 * object `{ text, values, rowMode }`. Returns `{ text, values, rowMode, route }` or throws.
 */
function readQueryArguments(method, text, values, options) {
  let rowMode
  if (text !== null && typeof text === 'object' && !Array.isArray(text)) {
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
    if (typeof options !== 'object') {
      throw argumentError(`${method}(text, values, options): options must be an object, got ${describe(options)}`)
    }
    if (options.consistency !== undefined) {
      if (!CONSISTENCY.includes(options.consistency)) {
        throw argumentError(
          `${method}(text, values, options): options.consistency must be 'eventual', 'read-your-writes' or 'strong', got ${describe(options.consistency)}`,
        )
      }
      consistency = options.consistency
    }
    if (options.minLsn !== undefined && options.minLsn !== null) {
      if (parseLsn(options.minLsn) === null) {
        throw argumentError(
          `${method}(text, values, options): options.minLsn must be a WAL position such as '16/B374D848', got ${describe(options.minLsn)}`,
        )
      }
      minLsn = options.minLsn
    }
    if (options.route !== undefined) {
      if (options.route !== 'primary' && options.route !== 'replica') {
        throw argumentError(
          `${method}(text, values, options): options.route must be 'primary' or 'replica', got ${describe(options.route)}`,
        )
      }
      route = options.route
    }
  }
  return { text, values: values.map((v) => prepareValue(v)), rowMode, route, consistency, minLsn }
}

const CONSISTENCY = ['eventual', 'read-your-writes', 'strong']

/** A WAL position `'16/B374D848'` as a BigInt, or null when it is not one. */
function parseLsn(text) {
  const m = typeof text === 'string' ? /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text) : null
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : null
}

/** The later of two WAL positions (either may be null). */
function laterLsn(a, b) {
  if (a === null || a === undefined) return b ?? null
  if (b === null || b === undefined) return a
  return parseLsn(b) > parseLsn(a) ? b : a
}

/**
 * Settles submitted queries: the native side delivers finished ones in batches, as a flat
 * `[id, value, id, value, …]` array, through one callback per manager.
 */
class Dispatcher {
  #pending = new Map()
  #next = 0

  /** The native side calls this on the JS thread; it never throws. */
  onComplete = (batch) => {
    this.#settle(batch)
    if (this.#drained !== null && this.#pending.size === 0) {
      const drained = this.#drained
      this.#drained = null
      drained()
    }
  }

  /** Receives state-change events (id 0); set from options.logger / options.onEvent. */
  onEvent = null

  #settle(batch) {
    for (let i = 0; i < batch.length; i += 2) {
      if (batch[i] === 0) {
        this.onEvent?.(batch[i + 1])
        continue
      }
      const entry = this.#pending.get(batch[i])
      if (entry === undefined) continue
      this.#pending.delete(batch[i])
      const value = batch[i + 1]
      if (value instanceof Error) {
        entry.reject(value)
      } else {
        try {
          entry.resolve(entry.finish(value))
        } catch (err) {
          entry.reject(err)
        }
      }
    }
  }

  /** Resolves once nothing submitted is still running, or after `timeoutMs`. */
  drain(timeoutMs) {
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.#drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  #drained = null

  /** Submits through `submit(id)`; the Promise settles with `finish(value)`. */
  submit(submit, finish) {
    return new Promise((resolve, reject) => {
      // 1 … 2³²−1, wrapping: 0 is the id events arrive under.
      const id = (this.#next = (this.#next % 0xffffffff) + 1)
      this.#pending.set(id, { resolve, reject, finish })
      try {
        submit(id)
      } catch (err) {
        this.#pending.delete(id)
        reject(err)
      }
    })
  }
}

/** A dedicated connection from `manager.getClient()`, released as with pg-pool. */
class Client {
  #native
  #dispatcher
  #causal
  #released = false
  /** The last query issued: each waits for it, so queries run in call order, as with pg. */
  #tail = Promise.resolve()

  constructor(nativeClient, dispatcher, causal) {
    this.#native = nativeClient
    this.#dispatcher = dispatcher
    this.#causal = causal
  }

  /** Runs a statement on this connection as is: no routing; BEGIN / COMMIT are allowed. */
  query(text, values) {
    let args
    try {
      if (this.#released) throw new Error('Client has already been released to the pool')
      args = readQueryArguments('client.query', text, values)
    } catch (err) {
      return Promise.reject(err)
    }
    // Writes committed on this client count for the session it runs in (read-your-writes).
    const session = this.#causal.session()
    const track = this.#causal.tracking(session)
    const run = this.#tail.then(() =>
      this.#dispatcher.submit(
        (id) => this.#native.submit(id, args.text, args.values, track),
        (reply) => {
          this.#causal.wrote(session, reply[1])
          return toResult(reply, args.rowMode)
        },
      ),
    )
    this.#tail = run.catch(() => {})
    return run
  }

  /**
   * Returns the connection to its pool; with an error (or `true`) the connection is closed
   * instead. A transaction left open is rolled back first. A second release throws.
   */
  release(err) {
    if (this.#released) {
      throw new Error('Release called on client which has already been released to the pool.')
    }
    this.#released = true
    this.#native.release(Boolean(err))
  }
}

/**
 * Read-your-writes: sessions (AsyncLocalStorage) remember the WAL position of their last write,
 * and reads in them go only where that position has been replayed.
 */
class Causal {
  #sessions = new AsyncLocalStorage()
  /** The latest write this process made, for consistency: 'read-your-writes' outside sessions. */
  #lastLsn = null

  constructor(consistency) {
    this.consistency = consistency
  }

  session() {
    return this.#sessions.getStore()
  }

  /** Whether writes should report their WAL position. */
  tracking(session) {
    return session !== undefined || this.consistency !== 'eventual'
  }

  /** Records a write's WAL position in the session it ran in (and process-wide). */
  wrote(session, lsn) {
    if (!lsn) return
    this.#lastLsn = laterLsn(this.#lastLsn, lsn)
    if (session) session.lsn = laterLsn(session.lsn, lsn)
  }

  /** The consistency and the position a read must see. */
  forRead(session, args) {
    // A session, or a token given with the query, asks for read-your-writes.
    const mode = args.consistency ?? (session || args.minLsn ? 'read-your-writes' : this.consistency)
    // In a session its own writes; outside one (consistency option), this process's latest.
    const lsn = args.minLsn ?? (mode === 'read-your-writes' ? (session ? session.lsn : this.#lastLsn) : null)
    return { mode, lsn }
  }

  run(session, fn) {
    return this.#sessions.run(session, fn)
  }
}

class ReadReplicaManager {
  #native
  #dispatcher
  #causal
  #closed = false

  constructor(nativeManager, dispatcher, consistency) {
    this.#native = nativeManager
    this.#dispatcher = dispatcher
    this.#causal = new Causal(consistency)
  }

  /**
   * Runs `fn` in a read-your-writes session: reads in it see every write made in it (and, with
   * `minLsn`, every write up to that position, e.g. a token from an earlier request).
   */
  withSession(fn, { minLsn } = {}) {
    if (typeof fn !== 'function') return Promise.reject(argumentError(`withSession(fn): fn must be a function, got ${describe(fn)}`))
    if (minLsn !== undefined && minLsn !== null && parseLsn(minLsn) === null) {
      return Promise.reject(argumentError(`withSession(fn, options): options.minLsn must be a WAL position such as '16/B374D848', got ${describe(minLsn)}`))
    }
    return this.#causal.run({ lsn: minLsn ?? null }, async () => fn())
  }

  /** Express middleware: each request runs in its own read-your-writes session. */
  sessionMiddleware() {
    return (req, res, next) => this.#causal.run({ lsn: null }, () => next())
  }

  /** The WAL position of the current session's last write (a token for `minLsn`), or null. */
  lastWriteLsn() {
    return this.#causal.session()?.lsn ?? null
  }

  /** Routes `text` (reads to a healthy replica, everything else to the primary) and runs it. */
  query(text, values, options) {
    let args
    try {
      if (this.#closed) throw closedError()
      args = readQueryArguments('query', text, values, options)
    } catch (err) {
      return Promise.reject(err)
    }
    const session = this.#causal.session()
    const { mode, lsn } = this.#causal.forRead(session, args)
    const track = this.#causal.tracking(session)
    return this.#dispatcher.submit(
      (id) => this.#native.submit(id, args.text, args.values, args.route, mode, lsn, track),
      (reply) => {
        this.#causal.wrote(session, reply[1])
        return toResult(reply, args.rowMode)
      },
    )
  }

  /** A dedicated connection: `'read'` from a healthy replica, `'write'` from the primary. */
  getClient(kind = 'read') {
    if (this.#closed) return Promise.reject(closedError())
    if (kind !== 'read' && kind !== 'write') {
      return Promise.reject(argumentError(`getClient(kind): kind must be 'read' or 'write', got ${describe(kind)}`))
    }
    const dispatcher = this.#dispatcher
    return dispatcher.submit(
      (id) => this.#native.submitGetClient(id, kind),
      (native) => new Client(native, dispatcher, this.#causal),
    )
  }

  /** Where this manager would send `sql`, and why: `{ route: 'replica' | 'primary' | 'reject', reason }`. */
  classifyQuery(sql) {
    if (typeof sql !== 'string') throw argumentError(`classifyQuery(sql): sql must be a string, got ${describe(sql)}`)
    return this.#native.classify(sql)
  }

  /** `{ replica_0: { host, port, database, healthy, lastHealthCheck, failureCount, responseTime }, … }` */
  getReplicaStatus() {
    return this.#native.status()
  }

  /** `{ readQueries, writeQueries, replicaFailovers, healthCheckFailures, replicaCount, replicaStatus }` */
  getMetrics() {
    return this.#native.metrics()
  }

  /** Every metric in Prometheus's text exposition format (for a /metrics endpoint). */
  getPrometheusMetrics() {
    return this.#native.prometheus()
  }

  /**
   * Shuts down gracefully: takes no new work (later calls reject), waits up to `timeoutMs`
   * (default 10 s) for queries in flight, then stops the health checks and closes every pooled
   * connection. Clients still checked out close their connections when released.
   */
  async close(timeoutMs = 10_000) {
    if (this.#closed) return
    this.#closed = true
    if (current === this) current = null
    await this.#dispatcher.drain(timeoutMs)
    await this.#native.close()
  }
}

function closedError() {
  const err = new Error(CLOSED)
  err.code = 'ERR_RRM_CLOSED'
  return err
}

/**
 * State changes go to `onEvent(event)` as objects and to `logger[event.level](event)` (one
 * object with a `message`, which console, pino and winston all print); a throwing listener never
 * disturbs the manager.
 */
function eventHandler(logger, onEvent) {
  if (!logger && !onEvent) return null
  return (event) => {
    try {
      onEvent?.(event)
    } catch {}
    try {
      logger?.[event.level](event)
    } catch {}
  }
}

let current = null
let starting = null

/**
 * Creates the manager (a singleton): validates the configs, runs a first health check of every
 * replica, and resolves. A second call resolves to the manager already initialized.
 */
async function initializeReadReplicaManager(primaryConfig, replicaConfigs = [], options = {}) {
  if (current) return current
  if (starting) return starting
  starting = (async () => {
    if (primaryConfig === null || typeof primaryConfig !== 'object' || Array.isArray(primaryConfig)) {
      throw argumentError(`primaryConfig must be an object, got ${describe(primaryConfig)}`)
    }
    if (replicaConfigs === undefined || replicaConfigs === null) replicaConfigs = []
    if (!Array.isArray(replicaConfigs)) {
      throw argumentError(`replicaConfigs must be an array, got ${describe(replicaConfigs)}`)
    }
    replicaConfigs.forEach((config, i) => {
      if (config === null || typeof config !== 'object' || Array.isArray(config)) {
        throw argumentError(`replicaConfigs[${i}] must be an object, got ${describe(config)}`)
      }
    })
    if (options === undefined || options === null) options = {}
    if (typeof options !== 'object' || Array.isArray(options)) {
      throw argumentError(`options must be an object, got ${describe(options)}`)
    }
    const { logger, onEvent, ...nativeOptions } = options
    if (logger !== undefined && !['info', 'warn', 'error'].every((m) => typeof logger?.[m] === 'function')) {
      throw argumentError('options.logger must have info, warn and error methods (console, pino and winston do)')
    }
    if (onEvent !== undefined && typeof onEvent !== 'function') {
      throw argumentError(`options.onEvent must be a function, got ${describe(onEvent)}`)
    }
    const dispatcher = new Dispatcher()
    dispatcher.onEvent = eventHandler(logger, onEvent)
    const nativeManager = unwrap(native.createManager(primaryConfig, replicaConfigs, nativeOptions, dispatcher.onComplete))
    await nativeManager.start()
    current = new ReadReplicaManager(nativeManager, dispatcher, nativeOptions.consistency ?? 'eventual')
    return current
  })()
  try {
    return await starting
  } finally {
    starting = null
  }
}

/** An error about an environment variable: names it and the problem, never its value's secrets. */
function envError(message) {
  const err = new TypeError(message)
  err.code = 'ERR_RRM_ENV'
  return err
}

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
 * connection strings), and the pool and health settings from their variables (read by the
 * manager itself). Bad values reject naming the variable; a password is never echoed.
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
      throw envError(`DB_REPLICAS is not valid JSON${at ? ` (error at position ${at[1]})` : ''}: expected an array of replica configs`)
    }
    if (!Array.isArray(parsed)) throw envError(`DB_REPLICAS must be a JSON array of replica configs, got ${describe(parsed)}`)
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

/**
 * Initializes the manager from the guide's environment variables (see configsFromEnv);
 * `options` as for initializeReadReplicaManager.
 */
async function initializeReadReplicaManagerFromEnv(options = {}) {
  const { primaryConfig, replicaConfigs } = configsFromEnv(process.env)
  return initializeReadReplicaManager(primaryConfig, replicaConfigs, options)
}

/** The initialized manager; throws `Error('Read replica manager not initialized')` before. */
function getReadReplicaManager() {
  if (!current) throw new Error(NOT_INITIALIZED)
  return current
}

/** Closes the manager, if any, gracefully (see `manager.close`), and clears the singleton. */
async function closeReadReplicaManager(timeoutMs) {
  const manager = current
  current = null
  if (manager) await manager.close(timeoutMs)
}

/**
 * Where the router sends `sql`, and why: `{ route: 'replica' | 'primary' | 'reject', reason }`.
 * `options.writeFunctions` / `readOnlyFunctions` adjust the write-function list as the manager
 * options of the same names do. Pure: no connection is made.
 */
function classifyQuery(sql, options = {}) {
  if (typeof sql !== 'string') throw argumentError(`classifyQuery(sql): sql must be a string, got ${describe(sql)}`)
  const list = (key) => {
    const value = options?.[key]
    if (value === undefined || value === null) return null
    if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
      throw argumentError(`classifyQuery(sql, options): options.${key} must be an array of function names`)
    }
    return value
  }
  return native.classifyQuery(sql, list('writeFunctions'), list('readOnlyFunctions'))
}

exports.initializeReadReplicaManager = initializeReadReplicaManager
exports.initializeReadReplicaManagerFromEnv = initializeReadReplicaManagerFromEnv
exports.getReadReplicaManager = getReadReplicaManager
exports.closeReadReplicaManager = closeReadReplicaManager
exports.classifyQuery = classifyQuery

const express = require('./lib/express')
exports.healthCheckHandler = express.healthCheckHandler
exports.metricsHandler = express.metricsHandler
exports.ReadReplicaManager = ReadReplicaManager
exports.Client = Client
