'use strict'
// pg/cancel: `pg_cancel_backend(processID)` for routing clients. A routing client's processID is a
// key of its manager.pg, not a server backend (its statements run on many connections); a cancel
// that names one is answered here, by cancelling that client's running statement wherever it runs
// — the way knex and Kysely cancel a query (a second client sends `SELECT pg_cancel_backend($1)`).

/** `SELECT pg_cancel_backend($1)` or `(<number>)`, alone. */
const CANCEL = /^\s*select\s+pg_cancel_backend\s*\(\s*(?:\$1|(\d+))\s*\)\s*;?\s*$/i

/** pg's result for `SELECT pg_cancel_backend(…)`. */
function cancelResult(sent, rowMode) {
  return {
    command: 'SELECT',
    rowCount: 1,
    oid: null,
    rows: [rowMode === 'array' ? [sent] : { pg_cancel_backend: sent }],
    fields: [
      {
        name: 'pg_cancel_backend',
        tableID: 0,
        columnID: 0,
        dataTypeID: 16,
        dataTypeSize: 1,
        dataTypeModifier: -1,
        format: 'text',
      },
    ],
    rowAsArray: rowMode === 'array',
  }
}

/** The routing clients of one manager.pg, by processID (held weakly: a forgotten client is let go). */
class Cancels {
  #clients = new Map()
  #finalizer = new FinalizationRegistry((processID) => this.#clients.delete(processID))

  add(client) {
    this.#clients.set(client.processID, new WeakRef(client))
    this.#finalizer.register(client, client.processID, client)
  }

  delete(client) {
    this.#clients.delete(client.processID)
    this.#finalizer.unregister(client)
  }

  /** For a query that cancels one of these clients: a Promise of pg's result for it; else null. */
  intercept(query) {
    const match = CANCEL.exec(query.text)
    if (match === null) return null
    const client = this.#clients.get(Number(match[1] ?? query.values[0]))?.deref()
    if (client === undefined) return null
    return client._cancel().then((sent) => cancelResult(sent, query.rowMode))
  }
}

module.exports = { Cancels }
