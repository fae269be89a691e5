'use strict'
// pg/submittable: pg-cursor and pg-query-stream objects given to a manager.pg client's query().
// They drive pg's protocol themselves, which a routing client has none of; their read() and
// close() are served by the client's own cursor (lib/cursor.js) instead, so libraries that
// stream through them (Kysely's `cursor` option, knex's and TypeORM's streams) work unchanged.

/** The pg-cursor behind `submittable` (itself, or a pg-query-stream's `cursor`), or null. */
function pgCursorOf(submittable) {
  const cursor = typeof submittable.cursor?.read === 'function' ? submittable.cursor : submittable
  const isCursor =
    typeof cursor.read === 'function' && typeof cursor.close === 'function' && typeof cursor.text === 'string'
  return isCursor ? cursor : null
}

/**
 * Serves `pgCursor`'s read(rows, callback?) and close(callback?) — promise or callback forms, as
 * pg-cursor's — from `ours`, a cursor of this package.
 */
function adopt(pgCursor, ours) {
  pgCursor.read = (rows, callback) => {
    const read = ours.read(rows)
    if (typeof callback !== 'function') return read
    read.then(
      (got) => process.nextTick(callback, null, got, { rows: got, fields: ours.fields }),
      (err) => process.nextTick(callback, err),
    )
    return undefined
  }
  pgCursor.close = (callback) => {
    const closed = ours.close()
    if (typeof callback !== 'function') return closed
    closed.then(
      () => process.nextTick(callback),
      (err) => process.nextTick(callback, err),
    )
    return undefined
  }
}

module.exports = { pgCursorOf, adopt }
