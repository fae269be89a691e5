'use strict'
// events: state changes (a replica ejected or back, a failover, …) and slow statements, fanned
// out to the manager's `options.onEvent` and `options.logger`; the latest state changes kept.

/**
 * State changes go to `onEvent(event)` as objects and to `logger[event.level](event)` (one
 * object with a `message`, which console, pino and winston all print); a throwing listener never
 * disturbs the manager. Null when there is no listener.
 */
function eventHandler(logger, onEvent) {
  if (!logger && !onEvent) return null
  return (event) => {
    try {
      onEvent?.(event)
    } catch {}
    try {
      logger?.[event.level](event)
    } catch {}
  }
}

/** How many events `getRecentEvents()` keeps. */
const RECENT_EVENTS = 100

/** The latest state-change events, oldest first (slow queries are not state changes). */
class RecentEvents {
  #events = []

  add(event) {
    if (event.type === 'slow-query') return
    this.#events.push(event)
    if (this.#events.length > RECENT_EVENTS) this.#events.shift()
  }

  list() {
    return this.#events.slice()
  }
}

module.exports = { eventHandler, RecentEvents, RECENT_EVENTS }
