'use strict'
// password: a member config's `password` given as a function, called as node-postgres calls it
// (pg/lib/client.js, _getPassword): before each new connection of that member, its result a
// string or a Promise of one — for tokens that rotate (RDS / Cloud SQL / Azure IAM). The native
// side calls the wrapper made here, from its connection pools and its health checks.

/** What a password function threw or rejected with, as a message (never its stack). */
function messageOf(err) {
  try {
    if (err instanceof Error) return String(err.message)
    return String(err)
  } catch {
    return 'it threw a value that cannot be shown'
  }
}

/**
 * Wraps `fn` for the native side. The wrapper is called with `{ host, port, database, user }`
 * (pg passes its connection parameters) and always resolves — to `{ password }` (`undefined`
 * connects without one, as pg does) or to `{ error }`, a message — never throwing or rejecting,
 * so that nothing `fn` does can escape into Node. As in pg, a result that is neither a string
 * nor undefined is an error, `Password must be a string`.
 */
function passwordCallback(fn) {
  return (params) =>
    Promise.resolve()
      .then(() => fn(params))
      .then(
        (password) => {
          if (password === undefined) return {}
          if (typeof password === 'string') return { password }
          return { error: 'Password must be a string' }
        },
        (err) => ({ error: messageOf(err) }),
      )
}

module.exports = { passwordCallback }
