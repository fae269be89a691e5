'use strict'
// dispatcher: settles submitted queries. The native side delivers finished ones in batches, as a
// flat `[id, value, id, value, …]` array, through one callback per manager; id 0 carries events.

/** The id that events arrive under: never given to a submission. */
const EVENT_ID = 0
const MAX_ID = 0xffffffff

/** The id after `id`: 1 … 2³²−1, wrapping past the top and skipping EVENT_ID. */
function nextId(id) {
  return (id % MAX_ID) + 1
}

/** Empties a submission's entry once it has left `#pending` (see there). */
function release(entry) {
  entry.resolve = null
  entry.reject = null
  entry.finish = null
}

class Dispatcher {
  /**
   * id → `{ resolve, reject, finish }` of each submission not yet settled. An entry lets go of its
   * functions when it leaves (`release`): V8 grows and shrinks a Map by copying it into a new hash
   * table, and the old table keeps its entries (and a link to the new one). Once the Map is in the
   * old generation those tables are too, and only a full GC frees them, so an entry that still held
   * `resolve` kept its Promise and the result it settled with alive through every scavenge, into
   * the old generation: most results did, under load, which grew the heap by tens of MB.
   */
  #pending = new Map()
  /** id → handler, for news that keeps coming under one id (a client's notices and notifications). */
  #listeners = new Map()
  #last = EVENT_ID
  #drained = null

  /** The native side calls this on the JS thread; it never throws. */
  onComplete = (batch) => {
    this.#settle(batch)
    if (this.#drained !== null && this.#pending.size === 0) {
      const drained = this.#drained
      this.#drained = null
      drained()
    }
  }

  /** Receives state-change events (id 0); set from options.logger / options.onEvent (events.js). */
  onEvent = null

  #settle(batch) {
    for (let i = 0; i < batch.length; i += 2) {
      if (batch[i] === EVENT_ID) {
        this.onEvent?.(batch[i + 1])
        continue
      }
      const entry = this.#pending.get(batch[i])
      if (entry === undefined) {
        this.#listeners.get(batch[i])?.(batch[i + 1])
        continue
      }
      this.#pending.delete(batch[i])
      const { resolve, reject, finish } = entry
      release(entry)
      const value = batch[i + 1]
      if (value instanceof Error) {
        reject(value)
      } else {
        try {
          resolve(finish(value))
        } catch (err) {
          reject(err)
        }
      }
    }
  }

  /** Resolves once nothing submitted is still running, or after `timeoutMs`. */
  drain(timeoutMs) {
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.#drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** The next id free of submissions and listeners. */
  #nextFreeId() {
    do this.#last = nextId(this.#last)
    while (this.#pending.has(this.#last) || this.#listeners.has(this.#last))
    return this.#last
  }

  /** Registers `handler` for news under an id of its own (never a submission's); returns the id. */
  listen(handler) {
    const id = this.#nextFreeId()
    this.#listeners.set(id, handler)
    return id
  }

  unlisten(id) {
    this.#listeners.delete(id)
  }

  /** Submits through `submit(id)`; the Promise settles with `finish(value)`. */
  submit(submit, finish) {
    return new Promise((resolve, reject) => {
      const id = this.#nextFreeId()
      const entry = { resolve, reject, finish }
      this.#pending.set(id, entry)
      try {
        submit(id)
      } catch (err) {
        this.#pending.delete(id)
        release(entry)
        reject(err)
      }
    })
  }
}

module.exports = { Dispatcher, nextId, EVENT_ID }
