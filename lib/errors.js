'use strict'
// errors: every error the JavaScript side creates, with its code and message. The native binding
// uses the same codes, so one condition carries one code whichever layer finds it.

/** Every `err.code` the manager sets (besides SQLSTATEs and node-style connection codes). */
const codes = Object.freeze({
  /** A call got an argument it cannot take (a TypeError). */
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  /** Query text or values the protocol cannot carry, e.g. a NUL byte (a TypeError, raised by the native side). */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  /** A config field or option value is invalid (a TypeError). */
  CONFIG: 'ERR_RRM_CONFIG',
  /** An environment variable is missing or malformed (a TypeError). */
  ENV: 'ERR_RRM_ENV',
  /** The manager was closed. */
  CLOSED: 'ERR_RRM_CLOSED',
  /** A query on a released client, or a second release. */
  CLIENT_RELEASED: 'ERR_RRM_CLIENT_RELEASED',
  /** getReadReplicaManager() before initializeReadReplicaManager(). */
  NOT_INITIALIZED: 'ERR_RRM_NOT_INITIALIZED',
  /** BEGIN / COMMIT / … through manager.query() (raised by the native side). */
  TRANSACTION_CONTROL: 'ERR_RRM_TRANSACTION_CONTROL',
  /**
   * What query() cannot do: COPY … FROM STDIN / TO STDOUT (raised by the native side), a pg
   * Submittable such as pg-cursor (a TypeError).
   */
  UNSUPPORTED: 'ERR_RRM_UNSUPPORTED',
  /** No member was primary for the whole of connectionTimeoutMillis (raised by the native side). */
  NO_PRIMARY: 'ERR_RRM_NO_PRIMARY',
  /** A write's connection broke after it was sent: it may or may not have run (native side). */
  OUTCOME_UNKNOWN: 'ERR_RRM_OUTCOME_UNKNOWN',
  /** A member's password function threw, rejected or gave no string for a new connection (native side). */
  PASSWORD: 'ERR_RRM_PASSWORD',
  /** The native addon has no binary for this platform, or its binary did not load (lib/native.js). */
  NATIVE_BINDING: 'ERR_RRM_NATIVE_BINDING',
})

const messages = Object.freeze({
  CLOSED: 'Read replica manager is closed',
  NOT_INITIALIZED: 'Read replica manager not initialized',
  RELEASED_QUERY: 'Client has already been released to the pool',
  // pg-pool's own message, word for word.
  RELEASED_TWICE: 'Release called on client which has already been released to the pool.',
})

/** node-postgres's own errors, word for word, for `manager.pg` (pg gives them no code). */
const pgMessages = Object.freeze({
  NULL_QUERY: 'Client was passed a null or undefined query',
  NOT_QUERYABLE: 'Client was closed and is not queryable',
  RECONNECT: 'Client has already been connected. You cannot reuse a client.',
  POOL_ENDED: 'Cannot use a pool after calling end on the pool',
  POOL_END_TWICE: 'Called end on pool more than once',
  CALLBACK: 'callback is not a function',
})

function withCode(err, code) {
  err.code = code
  return err
}

/** A bad argument: `message` names the call, the argument and what it got (see arguments.js). */
function argumentError(message) {
  return withCode(new TypeError(message), codes.INVALID_ARG_TYPE)
}

/** A bad config field: `message` names the config, the field and what it got, never a password. */
function configError(message) {
  return withCode(new TypeError(message), codes.CONFIG)
}

/** A bad environment variable: `message` names it and the problem, never a secret it holds. */
function envError(message) {
  return withCode(new TypeError(message), codes.ENV)
}

function closedError() {
  return withCode(new Error(messages.CLOSED), codes.CLOSED)
}

function notInitializedError() {
  return withCode(new Error(messages.NOT_INITIALIZED), codes.NOT_INITIALIZED)
}

/** client.query() after client.release(). */
function releasedQueryError() {
  return withCode(new Error(messages.RELEASED_QUERY), codes.CLIENT_RELEASED)
}

/** A second client.release(), as pg-pool throws it. */
function releasedTwiceError() {
  return withCode(new Error(messages.RELEASED_TWICE), codes.CLIENT_RELEASED)
}

/** Something this package does not do (a pg Submittable, binary results): `message` names the way that can. */
function unsupportedError(message) {
  return withCode(new TypeError(message), codes.UNSUPPORTED)
}

/**
 * The addon could not be loaded: `message` names the platform and what to do; `cause` is the
 * generated loader's own error (binding.js), and `platform` / `packageName` say what was looked for.
 */
function nativeBindingError(message, { platform, packageName, cause }) {
  const err = withCode(new Error(message, { cause }), codes.NATIVE_BINDING)
  err.platform = platform
  err.packageName = packageName
  return err
}

module.exports = {
  codes,
  messages,
  pgMessages,
  unsupportedError,
  argumentError,
  configError,
  envError,
  closedError,
  notInitializedError,
  releasedQueryError,
  releasedTwiceError,
  nativeBindingError,
}
