'use strict'
// pg/client: node-postgres's Client for `manager.pg` — a routing session. Outside a transaction
// each statement is routed as `manager.query` routes it; a transaction, or state that cannot move
// (LISTEN, temporary tables, PREPARE, session advisory locks), holds one connection for it (the
// native side decides: core session.rs); its settings follow it to every connection it uses.

const EventEmitter = require('node:events')
const { readCursorArguments } = require('../arguments')
const { cursorInTurn } = require('../cursor')
const { closedError, pgMessages } = require('../errors')
const { RoutingConnection } = require('./connection')
const { escapeIdentifier, escapeLiteral } = require('./escape')
const { readPgQuery, settle } = require('./query')
const { checkName, runQuery } = require('./run')
const { adopt, pgCursorOf } = require('./submittable')

/**
 * Keys for routing clients, above any real process id (Linux's pid_max is at most 2²²): a
 * `pg_cancel_backend(processID)` through manager.pg cancels that client's statement (pg/cancel.js),
 * and sent any other way it can never cancel another backend by mistake.
 */
let nextProcessId = 0x40000000

const noop = () => {}

/**
 * The Client class bound to one manager.
 * @param link the manager.pg's internals: `native`, `dispatcher`, `sessions`, `cancels`, `closed()`
 * @param TypeOverrides the manager.pg's TypeOverrides (falls back to its `types`)
 */
function clientClass(link, TypeOverrides) {
  const listeners = new FinalizationRegistry((id) => link.dispatcher.unlisten(id))
  return class Client extends EventEmitter {
    #native = null
    /** The dispatcher id its notices and notifications arrive under. */
    #listener = null
    /** The last query issued: each waits for it, so queries run in call order, as with pg. */
    #tail = Promise.resolve()
    /** Named statements: name → text (see checkName). */
    #names = new Map()
    #submit = (id, text, values, strong, minLsn, track, textTypes, traced) =>
      this.#native.submit(id, text, values, strong, minLsn, track, textTypes, traced)

    /** @param {object} [config] pg's client config: `types` is honoured; the connection keys are the manager's. */
    constructor(config) {
      super()
      const c = config ?? {}
      this.user = c.user
      this.database = c.database
      this.port = c.port
      this.host = c.host
      this.processID = nextProcessId++
      this.secretKey = null
      this.connection = new RoutingConnection()
      this._types = new TypeOverrides(c.types)
      this._connecting = false
      this._connected = false
      this._queryable = true
      this._ending = false
      this._ended = false
      link.cancels.add(this)
    }

    /** Opens the session: no connection is taken until a statement needs one. */
    connect(callback) {
      let outcome
      if (this._connecting) {
        outcome = Promise.reject(new Error(pgMessages.RECONNECT))
      } else if (link.closed()) {
        outcome = Promise.reject(closedError())
      } else {
        this._connecting = true
        this.#open()
        // As pg: the promise resolves to the client.
        outcome = Promise.resolve(this)
        process.nextTick(() => this.emit('connect'))
      }
      return settle(outcome, callback)
    }

    #open() {
      if (this.#native === null) {
        // The client is held weakly: a forgotten client lets its listener go (see #close too).
        const client = new WeakRef(this)
        this.#listener = link.dispatcher.listen((message) => client.deref()?.#onServerMessage(message))
        listeners.register(this, this.#listener, this)
        this.#native = link.native.createSession(this.#listener)
      }
      this._connected = true
    }

    /** pg's `notice` and `notification` events: from the connection that runs (or holds) the client's work. */
    #onServerMessage(message) {
      this.emit(message.name, message)
    }

    query(config, values, callback) {
      // A pg-cursor or pg-query-stream: served by this client's cursor, returned as pg returns it.
      const pgCursor = typeof config?.submit === 'function' ? pgCursorOf(config) : null
      if (pgCursor !== null) {
        adopt(pgCursor, this.cursor(pgCursor.text, pgCursor.values ?? [], { rowMode: pgCursor._conf?.rowMode }))
        return config
      }
      const query = readPgQuery(config, values, callback)
      return settle(this.#enqueue(query), query.callback)
    }

    /**
     * A cursor over the rows of `text` (as `manager.cursor()`'s): in the client's transaction on
     * the connection it holds, else routed as `manager.cursor()` routes it. It runs after the
     * queries issued before it; those issued after wait until it ends.
     */
    cursor(text, values, options) {
      const args = readCursorArguments('client.cursor', text, values, options, { routed: false })
      const sessions = link.sessions
      const session = sessions.current()
      const { strong, minLsn } = sessions.forRead(session, args)
      const track = sessions.tracking(session)
      const { cursor, next } = cursorInTurn(this.#tail, {
        open: () => {
          if (this._ending) throw new Error(pgMessages.NOT_QUERYABLE)
          this.#open()
          return this.#native.cursor(args.text, args.values, strong, minLsn, track)
        },
        onEnd: (writeLsn) => sessions.wrote(session, writeLsn),
        dispatcher: link.dispatcher,
        rowMode: args.rowMode,
        batchSize: args.batchSize,
      })
      this.#tail = next
      return cursor
    }

    #enqueue(query) {
      if (query.error) return Promise.reject(query.error)
      if (this._ending) return Promise.reject(new Error(pgMessages.NOT_QUERYABLE))
      if (link.closed()) return Promise.reject(closedError())
      const misnamed = checkName(this.#names, query)
      if (misnamed) return Promise.reject(misnamed)
      // pg queues queries made before connect(); a routing session needs no socket to exist.
      this.#open()
      const run = this.#tail.then(() => runQuery(link, query, this._types, this.#submit))
      this.#tail = run.catch(noop)
      return run
    }

    /**
     * Ends the session once its queries are done; a connection it holds goes back to its pool
     * clean (an open transaction rolled back). As pg: a second call, or one before connect,
     * resolves at once.
     */
    end(callback) {
      const connected = this._connected && !this._ending
      this._ending = true
      if (!connected) return settle(Promise.resolve(), callback)
      const ended = this.#tail.then(() => {
        this.#close(false)
        this.emit('end')
      })
      return settle(ended, callback)
    }

    /** Closes the session now (`destroy`: its held connection is closed, not pooled). */
    #close(destroy) {
      link.cancels.delete(this)
      if (this.#listener !== null) {
        link.dispatcher.unlisten(this.#listener)
        listeners.unregister(this)
        this.#listener = null
      }
      this._ended = true
      this._queryable = false
      this.#native?.release(destroy)
      this.#native = null
    }

    /** Cancels the statement this client runs now; resolves to whether a request was sent. */
    _cancel() {
      return this.#native === null ? Promise.resolve(false) : this.#native.cancel()
    }

    /** For the Pool: the session goes back clean, keeping nothing of this use. */
    _reset(destroy) {
      const native = this.#native
      this.#names.clear()
      if (destroy) {
        this._ending = true
        this.#close(true)
        return
      }
      // Queries still running finish first; the next user's wait behind them.
      this.#tail = this.#tail.then(() => native?.release(false))
    }

    setTypeParser(oid, format, parse) {
      return this._types.setTypeParser(oid, format, parse)
    }

    getTypeParser(oid, format) {
      return this._types.getTypeParser(oid, format)
    }

    escapeIdentifier(str) {
      return escapeIdentifier(str)
    }

    escapeLiteral(str) {
      return escapeLiteral(str)
    }

    ref() {}
    unref() {}
  }
}

module.exports = { clientClass }
