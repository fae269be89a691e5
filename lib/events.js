'use strict'
// events: state changes (a replica ejected or back, a failover, …) fanned out to the manager's
// `options.onEvent` and `options.logger`.

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

module.exports = { eventHandler }
