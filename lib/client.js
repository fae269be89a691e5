'use strict'
// client: a dedicated connection from `manager.getClient()`, released as with pg-pool.

const { readQueryArguments } = require('./arguments')
const { releasedQueryError, releasedTwiceError } = require('./errors')
const { toResult } = require('./result')

class Client {
  #native
  #dispatcher
  #sessions
  #released = false
  /** The last query issued: each waits for it, so queries run in call order, as with pg. */
  #tail = Promise.resolve()

  constructor(nativeClient, dispatcher, sessions) {
    this.#native = nativeClient
    this.#dispatcher = dispatcher
    this.#sessions = sessions
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
      this.#dispatcher.submit(
        (id) => this.#native.submit(id, args.text, args.values, track),
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
   * Returns the connection to its pool; with an error (or `true`) the connection is closed
   * instead. A transaction left open is rolled back first. A second release throws.
   */
  release(err) {
    if (this.#released) throw releasedTwiceError()
    this.#released = true
    this.#native.release(Boolean(err))
  }
}

module.exports = { Client }
