'use strict'
// cursor: a large result read a batch at a time, from `manager.cursor()` or `client.cursor()`.
// The native side holds the connection and the transaction and reads one batch from the server
// per request; here each batch becomes rows (lib/result.js, as for query()), handed out by
// read(n) as pg-cursor does, or one by one by `for await`.

const { readRowCount } = require('./arguments')
const { toFields, toRows } = require('./result')

/** A batch from the native side: `[done, writeLsn, fields | null, columns]`. */
const DONE = 0
const WRITE_LSN = 1
const FIELDS = 2
const COLUMNS = 3

class Cursor {
  #open
  #onEnd
  #dispatcher
  #rowMode
  #batchSize
  /** The NativeCursor, made at the first read. */
  #native = null
  #fields = null
  /** 'new' (nothing read yet), 'open', 'done' (rows ran out), 'closed', or 'error'. */
  #state = 'new'
  #error = null
  /** The last request: each waits for it, so reads and close run one at a time, in call order. */
  #tail = Promise.resolve()

  /**
   * @param {object} how
   * @param {() => unknown | Promise<unknown>} how.open makes the NativeCursor (after the
   *   client's earlier queries, for a client); may throw the error the first read rejects with
   * @param {(writeLsn: string | null) => void} how.onEnd told once, when the cursor ends (rows
   *   ran out, closed, or failed), with the WAL position of a tracked write
   * @param how.dispatcher the manager's Dispatcher
   * @param {'array' | undefined} how.rowMode
   * @param {number} how.batchSize rows per batch for `for await`, and read()'s default
   */
  constructor({ open, onEnd, dispatcher, rowMode, batchSize }) {
    this.#open = open
    this.#onEnd = onEnd
    this.#dispatcher = dispatcher
    this.#rowMode = rowMode
    this.#batchSize = batchSize
  }

  /** pg's field descriptions, once the first read has answered (null before). */
  get fields() {
    return this.#fields
  }

  /**
   * Up to `rows` more rows (default: the batch size); an empty array once they have run out or
   * the cursor is closed. After an error every read rejects with it. As pg-cursor's read().
   */
  read(rows = this.#batchSize) {
    try {
      rows = readRowCount('cursor.read(rows)', rows)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#queue(() => this.#read(rows))
  }

  /** Ends the cursor: its transaction commits and its connection is returned. Idempotent. */
  close() {
    return this.#queue(() => this.#close())
  }

  /** Rows one by one, a batch read ahead; leaving the loop early (break, throw) closes the cursor. */
  async *[Symbol.asyncIterator]() {
    let next = this.read()
    try {
      for (;;) {
        const rows = await next
        // Read the next batch while these are used, unless these were the last.
        next = this.#state === 'open' ? this.read() : null
        for (const row of rows) yield row
        if (next === null) return
      }
    } finally {
      next?.catch(() => {})
      await this.close()
    }
  }

  #queue(work) {
    const run = this.#tail.then(work)
    this.#tail = run.catch(() => {})
    return run
  }

  async #read(rows) {
    if (this.#state === 'error') throw this.#error
    if (this.#state !== 'new' && this.#state !== 'open') return []
    try {
      this.#native ??= await this.#open()
      const native = this.#native
      return await this.#dispatcher.submit(
        (id) => native.read(id, rows),
        (batch) => this.#rows(batch),
      )
    } catch (err) {
      this.#state = 'error'
      this.#error = err
      this.#end(null)
      throw err
    }
  }

  #rows(batch) {
    if (batch[FIELDS] !== null) this.#fields = toFields(batch[FIELDS])
    const rows = toRows(this.#fields, batch[COLUMNS], this.#rowMode)
    if (batch[DONE]) {
      this.#state = 'done'
      this.#end(batch[WRITE_LSN])
    } else {
      this.#state = 'open'
    }
    return rows
  }

  async #close() {
    const state = this.#state
    if (state === 'done' || state === 'closed' || state === 'error') return
    this.#state = 'closed'
    if (state === 'new') {
      this.#end(null)
      return
    }
    const native = this.#native
    let writeLsn = null
    try {
      const batch = await this.#dispatcher.submit(
        (id) => native.close(id),
        (batch) => batch,
      )
      writeLsn = batch[WRITE_LSN]
    } finally {
      this.#end(writeLsn)
    }
  }

  #end(writeLsn) {
    const onEnd = this.#onEnd
    this.#onEnd = null
    onEnd?.(writeLsn)
  }
}

/**
 * A cursor in a client's turn: it opens once `turn` (the client's earlier work) has settled, and
 * `next` — the client's turn after it — resolves when it ends, so the client's later work waits.
 * `how` as for Cursor.
 */
function cursorInTurn(turn, how) {
  let ended
  const next = new Promise((resolve) => {
    ended = resolve
  })
  const cursor = new Cursor({
    ...how,
    open: async () => {
      await turn
      return how.open()
    },
    onEnd: (writeLsn) => {
      how.onEnd(writeLsn)
      ended()
    },
  })
  return { cursor, next }
}

module.exports = { Cursor, cursorInTurn }
