'use strict'
// manager: ReadReplicaManager, the object initializeReadReplicaManager() resolves to — routed
// queries, dedicated clients, read-your-writes sessions, status and metrics, graceful close.

const {
  readClientKind,
  readCursorArguments,
  readQueryArguments,
  readSessionArguments,
  readSql,
  readStatsLimit,
} = require('./arguments')
const { Client } = require('./client')
const { Cursor } = require('./cursor')
const { closedError } = require('./errors')
const { createPg } = require('./pg')
const { toResult } = require('./result')
const { Sessions } = require('./sessions')
const { Tracing } = require('./tracing')

class ReadReplicaManager {
  #native
  #dispatcher
  #sessions
  #tracing
  #recentEvents
  #onClose
  #closed = false
  #pg = null

  /**
   * @param nativeManager the binding's NativeManager, started
   * @param dispatcher the Dispatcher its results arrive through
   * @param {{ onClose?: (manager: ReadReplicaManager) => void, recentEvents?: RecentEvents }} hooks
   *   `onClose` is told when close() begins (the singleton forgets the manager then);
   *   `recentEvents` keeps the events the dispatcher hands out
   */
  constructor(nativeManager, dispatcher, { onClose, recentEvents } = {}) {
    this.#native = nativeManager
    this.#dispatcher = dispatcher
    this.#onClose = onClose ?? null
    this.#recentEvents = recentEvents ?? null
    // The native side owns the `consistency` option: its parsing, validation and default.
    this.#sessions = new Sessions(nativeManager.consistency)
    this.#tracing = new Tracing(nativeManager.members())
  }

  /**
   * Runs `fn` in a read-your-writes session: reads in it see every write made in it (and, with
   * `minLsn`, every write up to that position, e.g. a token from an earlier request).
   */
  withSession(fn, options) {
    let from
    try {
      from = readSessionArguments(fn, options)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#sessions.run(async () => fn(), from.position)
  }

  /** Express middleware: each request runs in its own read-your-writes session. */
  sessionMiddleware() {
    return (req, res, next) => this.#sessions.run(() => next())
  }

  /** The WAL position of the current session's last write (a token for `minLsn`), or null. */
  lastWriteLsn() {
    return this.#sessions.token()
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
    const sessions = this.#sessions
    const session = sessions.current()
    const { strong, minLsn } = sessions.forRead(session, args)
    const track = sessions.tracking(session)
    return this.#tracing.statement(
      args.text,
      (traced, finish) =>
        this.#dispatcher.submit(
          (id) => this.#native.submit(id, args.text, args.values, args.route, strong, minLsn, track, null, traced),
          finish,
        ),
      (reply) => {
        sessions.wrote(session, reply[1])
        return toResult(reply, args.rowMode)
      },
    )
  }

  /**
   * The node-postgres module, bound to this manager: `Pool`, `Client`, `types`, … for libraries
   * that take a pg module, Pool or Client. Its Pools and Clients route as `query` does.
   */
  get pg() {
    this.#pg ??= createPg({
      native: this.#native,
      dispatcher: this.#dispatcher,
      sessions: this.#sessions,
      tracing: this.#tracing,
      closed: () => this.#closed,
    })
    return this.#pg
  }

  /**
   * A cursor over the rows of `text`, routed as query() routes it: an async iterator of rows,
   * with read(n) and close() as pg-cursor's. Nothing runs before the first read; the rows come
   * a batch at a time, on one connection and in one transaction, until they run out or the
   * cursor is closed. Throws a TypeError on a bad argument.
   */
  cursor(text, values, options) {
    const args = readCursorArguments('cursor', text, values, options, { routed: true })
    const sessions = this.#sessions
    const session = sessions.current()
    const { strong, minLsn } = sessions.forRead(session, args)
    const track = sessions.tracking(session)
    return new Cursor({
      open: () => {
        if (this.#closed) throw closedError()
        return this.#native.cursor(args.text, args.values, args.route, strong, minLsn, track)
      },
      onEnd: (writeLsn) => sessions.wrote(session, writeLsn),
      dispatcher: this.#dispatcher,
      rowMode: args.rowMode,
      batchSize: args.batchSize,
    })
  }

  /** A dedicated connection: `'read'` from a healthy replica, `'write'` from the primary. */
  getClient(kind = 'read') {
    try {
      if (this.#closed) throw closedError()
      readClientKind(kind)
    } catch (err) {
      return Promise.reject(err)
    }
    const dispatcher = this.#dispatcher
    return dispatcher.submit(
      (id) => this.#native.submitGetClient(id, kind),
      (native) => new Client(native, { dispatcher, sessions: this.#sessions, tracing: this.#tracing }),
    )
  }

  /** Where this manager would send `sql`, and why: `{ route: 'replica' | 'primary' | 'reject', reason }`. */
  classifyQuery(sql) {
    return this.#native.classify(readSql(sql))
  }

  /** `{ replica_0: { host, port, database, healthy, lastHealthCheck, failureCount, responseTime }, … }` */
  getReplicaStatus() {
    return this.#native.status()
  }

  /** `{ readQueries, writeQueries, replicaFailovers, healthCheckFailures, replicaCount, replicaStatus, … }` */
  getMetrics() {
    return this.#native.metrics()
  }

  /**
   * Statement stats, one entry per fingerprint (the text with its values normalized away), by
   * total time, most first: calls, errors, rows, times, route, calls per member, failovers.
   * `limit` keeps the first ones. Empty when `queryStatsSize` is 0.
   */
  getQueryStats(options) {
    return this.#native.queryStats(readStatsLimit(options))
  }

  /** Forgets the statement stats (getMetrics().queryStats.since says when). */
  resetQueryStats() {
    this.#native.resetQueryStats()
  }

  /** The latest state-change events (at most 100, oldest first), as `onEvent` received them. */
  getRecentEvents() {
    return this.#recentEvents?.list() ?? []
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
    this.#onClose?.(this)
    await this.#dispatcher.drain(timeoutMs)
    await this.#native.close()
  }
}

module.exports = { ReadReplicaManager }
