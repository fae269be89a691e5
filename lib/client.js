'use strict'
// client: a dedicated connection from `manager.getClient()`, released as with pg-pool.

const { readCursorArguments, readQueryArguments } = require('./arguments')
const { cursorInTurn } = require('./cursor')
const { releasedQueryError, releasedTwiceError } = require('./errors')
const { toResult } = require('./result')

class Client {
  #native
  #dispatcher
  #sessions
  #tracing
  #released = false
  /** The last query or cursor issued: each waits for it, so they run in call order, as with pg. */
  #tail = Promise.resolve()
  /** Cursors not yet ended: release() closes them. */
  #cursors = new Set()

  /** @param {{ dispatcher: object, sessions: object, tracing: object }} link the manager's internals */
  constructor(nativeClient, { dispatcher, sessions, tracing }) {
    this.#native = nativeClient
    this.#dispatcher = dispatcher
    this.#sessions = sessions
    this.#tracing = tracing
  }

  /** Runs a statement on this connection as is: no routing; BEGIN / COMMIT are allowed. */
  query(text, values) {
    let args
    try {
      if (this.#released) throw releasedQueryError()
      args = readQueryArguments('client.query', text, values)
    } catch (err) {
      return Promise.reject(err)
    }
    // Writes committed on this client count for the session it runs in (read-your-writes).
    const session = this.#sessions.current()
    const track = this.#sessions.tracking(session)
    const run = this.#tail.then(() =>
      this.#tracing.statement(
        args.text,
        (traced, finish) =>
          this.#dispatcher.submit((id) => this.#native.submit(id, args.text, args.values, track, null, traced), finish),
        (reply) => {
          this.#sessions.wrote(session, reply[1])
          return toResult(reply, args.rowMode)
        },
      ),
    )
    this.#tail = run.catch(() => {})
    return run
  }

  /**
   * A cursor over the rows of `text` on this connection: in the transaction the client has
   * open, else in one of its own until the cursor ends. It runs after the queries issued before
   * it, and the ones issued after it wait until it ends (rows ran out, close(), an error).
   * Throws a TypeError on a bad argument.
   */
  cursor(text, values, options) {
    const args = readCursorArguments('client.cursor', text, values, options, { routed: false })
    const sessions = this.#sessions
    const session = sessions.current()
    const track = sessions.tracking(session)
    const { cursor, next } = cursorInTurn(this.#tail, {
      open: () => {
        if (this.#released) throw releasedQueryError()
        return this.#native.cursor(args.text, args.values, track)
      },
      onEnd: (writeLsn) => {
        this.#cursors.delete(cursor)
        sessions.wrote(session, writeLsn)
      },
      dispatcher: this.#dispatcher,
      rowMode: args.rowMode,
      batchSize: args.batchSize,
    })
    this.#tail = next
    this.#cursors.add(cursor)
    return cursor
  }

  /**
   * Returns the connection to its pool; with an error (or `true`) the connection is closed
   * instead. Open cursors are closed, and a transaction left open is rolled back first. A
   * second release throws.
   */
  release(err) {
    if (this.#released) throw releasedTwiceError()
    this.#released = true
    for (const cursor of this.#cursors) cursor.close().catch(() => {})
    this.#native.release(Boolean(err))
  }
}

module.exports = { Client }
