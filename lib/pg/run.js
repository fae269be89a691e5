'use strict'
// pg/run: one node-postgres query through the manager — with read-your-writes as `manager.query`
// has it, the parsers the query, its client or its pool asks for, and pg's result shape.

const { toResult } = require('../result')
const { parsePlan } = require('./types')

/** A query issued through pg's API carries no consistency of its own: the session's applies. */
const NO_OPTIONS = Object.freeze({ consistency: null, minLsn: null })

/**
 * Runs `query` (read by readPgQuery) with `submit(id, text, values, strong, minLsn, track,
 * textTypes, traced)`; `types` is the parsers' source when the query names none.
 * @param {{ dispatcher: object, sessions: object, cancels: object, tracing: object }} link the
 *   manager's internals
 */
function runQuery(link, query, types, submit) {
  const cancelled = link.cancels.intercept(query)
  if (cancelled !== null) return cancelled
  const { textTypes, parserFor } = parsePlan(query.types ?? types)
  const sessions = link.sessions
  const session = sessions.current()
  const { strong, minLsn } = sessions.forRead(session, NO_OPTIONS)
  const track = sessions.tracking(session)
  return link.tracing.statement(
    query.text,
    (traced, finish) =>
      link.dispatcher.submit(
        (id) => submit(id, query.text, query.values, strong, minLsn, track, textTypes, traced),
        finish,
      ),
    (reply) => {
      sessions.wrote(session, reply[1])
      return toResult(reply, query.rowMode, parserFor)
    },
  )
}

/**
 * pg prepares a named statement once per client and refuses the name for another text; `names`
 * (name → text) is the client's record. Returns the error pg gives, or null.
 */
function checkName(names, query) {
  if (!query.name) return null
  const known = names.get(query.name)
  if (known === undefined) {
    names.set(query.name, query.text)
    return null
  }
  if (known === query.text) return null
  return new Error(`Prepared statements must be unique - '${query.name}' was used for a different statement`)
}

module.exports = { runQuery, checkName }
