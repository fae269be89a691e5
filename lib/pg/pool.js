'use strict'
// pg/pool: node-postgres's Pool for `manager.pg`. Its clients are routing sessions (pg/client.js):
// they cost no connection while idle, so none is ever waited for; the manager's own pools hold the
// connections and their limits. Events and counts are pg-pool's.

const EventEmitter = require('node:events')
const { closedError, messages, pgMessages } = require('../errors')
const { readPgQuery, settle } = require('./query')
const { runQuery } = require('./run')

/** Events whose listeners a pool.query() must see fire, as with pg-pool: then it checks out a client. */
const CLIENT_EVENTS = ['connect', 'acquire', 'release', 'remove']

/**
 * The Pool class bound to one manager.
 * @param link the manager.pg's internals: `native`, `dispatcher`, `sessions`, `cancels`, `closed()`
 * @param Client the manager.pg's Client class
 * @param TypeOverrides the manager.pg's TypeOverrides
 */
function poolClass(link, Client, TypeOverrides) {
  const submitRouted = (id, text, values, strong, minLsn, track, textTypes, traced) =>
    link.native.submit(id, text, values, null, strong, minLsn, track, textTypes, traced)

  return class Pool extends EventEmitter {
    #idle = []
    #clients = new Set()

    /** @param {object} [options] pg's pool config: `types` is honoured; connection keys and sizing are the manager's. */
    constructor(options) {
      super()
      this.options = { max: 10, idleTimeoutMillis: 10_000, ...options }
      this.Client = Client
      this._types = new TypeOverrides(this.options.types)
      this.ending = false
      this.ended = false
    }

    get totalCount() {
      return this.#clients.size
    }

    get idleCount() {
      return this.#idle.length
    }

    /** Always 0: a routing client needs no connection to be handed out. */
    get waitingCount() {
      return 0
    }

    get expiredCount() {
      return 0
    }

    /** A routing client: `connect()` → Promise, or `connect((err, client, release) => …)`. */
    connect(callback) {
      let client = null
      let error = null
      if (this.ending) error = new Error(pgMessages.POOL_ENDED)
      else if (link.closed()) error = closedError()
      else client = this.#acquire()
      if (callback === undefined) return error ? Promise.reject(error) : Promise.resolve(client)
      process.nextTick(() => (error ? callback(error) : callback(undefined, client, client.release)))
      return undefined
    }

    #acquire() {
      let client = this.#idle.pop()
      if (client === undefined) {
        client = new this.Client(this.options)
        client.connect()
        this.#clients.add(client)
        this.emit('connect', client)
      }
      let released = false
      client.release = (err) => {
        if (released) throw new Error(messages.RELEASED_TWICE)
        released = true
        this.#release(client, err)
      }
      this.emit('acquire', client)
      return client
    }

    #release(client, err) {
      this.emit('release', err, client)
      if (err || this.ending || !client._queryable || client._ending) {
        client._reset(true)
        this.#remove(client)
        return
      }
      client._reset(false)
      this.#idle.push(client)
    }

    #remove(client) {
      this.#idle = this.#idle.filter((c) => c !== client)
      if (this.#clients.delete(client)) this.emit('remove', client)
    }

    /** Routed as `manager.query` routes it; with listeners on client events, through a client, as pg-pool. */
    query(config, values, callback) {
      const query = readPgQuery(config, values, callback)
      const viaClient = CLIENT_EVENTS.some((e) => this.listenerCount(e) > 0)
      return settle(viaClient ? this.#queryOnClient(query) : this.#query(query), query.callback)
    }

    #query(query) {
      if (query.error) return Promise.reject(query.error)
      if (this.ending) return Promise.reject(new Error(pgMessages.POOL_ENDED))
      if (link.closed()) return Promise.reject(closedError())
      return runQuery(link, query, this._types, submitRouted)
    }

    async #queryOnClient(query) {
      if (query.error) throw query.error
      const client = await this.connect()
      try {
        const { text, values, rowMode, types, name } = query
        const result = await client.query({ text, values, rowMode, types, name })
        client.release()
        return result
      } catch (err) {
        client.release(err)
        throw err
      }
    }

    /** Ends every client; a second call fails, as with pg-pool. */
    end(callback) {
      if (this.ending) return settle(Promise.reject(new Error(pgMessages.POOL_END_TWICE)), callback)
      this.ending = true
      const idle = this.#idle
      this.#idle = []
      const ended = Promise.all(
        idle.map((client) => {
          this.#remove(client)
          return client.end()
        }),
      ).then(() => {
        this.ended = true
      })
      return settle(ended, callback)
    }
  }
}

module.exports = { poolClass }
