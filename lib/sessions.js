'use strict'
// sessions: read-your-writes. A session (AsyncLocalStorage) remembers the WAL position of its last
// write; this module decides, for each query, what consistency it gets and which position a read
// must see — the whole policy (the native side only carries it out).

const { AsyncLocalStorage } = require('node:async_hooks')
const { formatLsn, parseLsn } = require('./lsn')

/**
 * What one read asks of the native side. `mode` is the query's `consistency`, else
 * 'read-your-writes' in a session or with a `minLsn` token, else the manager's default. Only a
 * read-your-writes read carries a position: the token, else the session's last write, else
 * (outside a session) this process's last write. `strong` reads on the primary.
 * @param {string} defaultMode the manager's `consistency` option
 * @param {{ position: bigint | null } | undefined} session
 * @param {{ consistency: string | null, minLsn: bigint | null }} args
 * @param {bigint | null} lastWrite the latest write this process made
 */
function readPolicy(defaultMode, session, args, lastWrite) {
  const mode = args.consistency ?? (session || args.minLsn !== null ? 'read-your-writes' : defaultMode)
  let minLsn = null
  if (mode === 'read-your-writes') minLsn = args.minLsn ?? (session ? session.position : lastWrite)
  return { mode, strong: mode === 'strong', minLsn }
}

/** Whether a write should report its WAL position: in a session, or when reads may need it. */
function tracksWrites(defaultMode, session) {
  return session !== undefined || defaultMode !== 'eventual'
}

/** One manager's sessions, and the latest write its process made. */
class Sessions {
  #store = new AsyncLocalStorage()
  #defaultMode
  /** The latest write this process made (a BigInt), for consistency 'read-your-writes' outside sessions. */
  #lastWrite = null

  /** @param {string} defaultMode the manager's `consistency`, as the native side reports it */
  constructor(defaultMode) {
    this.#defaultMode = defaultMode
  }

  /** Runs `fn` in a new session whose reads must see `position` (a BigInt), or none. */
  run(fn, position = null) {
    return this.#store.run({ position }, fn)
  }

  /** The session the caller runs in, or undefined. */
  current() {
    return this.#store.getStore()
  }

  /** The current session's token: its last write's position (or the one it was opened with), or null. */
  token() {
    const position = this.current()?.position ?? null
    return position === null ? null : formatLsn(position)
  }

  /** Whether a query issued now in `session` should report the WAL position of its write. */
  tracking(session) {
    return tracksWrites(this.#defaultMode, session)
  }

  /** Records a write's WAL position (`'X/Y'` from the native side) in its session and process-wide. */
  wrote(session, lsn) {
    if (!lsn) return
    const position = parseLsn(lsn)
    if (position === null) return
    if (this.#lastWrite === null || position > this.#lastWrite) this.#lastWrite = position
    if (session && (session.position === null || position > session.position)) session.position = position
  }

  /** `{ mode, strong, minLsn }` for a read in `session` with the query's options (see readPolicy). */
  forRead(session, args) {
    return readPolicy(this.#defaultMode, session, args, this.#lastWrite)
  }
}

module.exports = { Sessions, readPolicy, tracksWrites }
