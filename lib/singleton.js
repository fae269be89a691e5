'use strict'
// singleton: initializeReadReplicaManager / getReadReplicaManager / closeReadReplicaManager — the
// one manager of the process, and the only owner of that state (`current`, `starting`).

const native = require('./native')
const { readManagerArguments } = require('./arguments')
const { Dispatcher } = require('./dispatcher')
const { configsFromEnv } = require('./env')
const { notInitializedError } = require('./errors')
const { eventHandler, RecentEvents } = require('./events')
const { ReadReplicaManager } = require('./manager')

/** The initialized manager, or null. */
let current = null
/** The initialization in progress, or null: concurrent calls share it. */
let starting = null

/** A manager that begins to close is no longer the process's manager. */
function forget(manager) {
  if (current === manager) current = null
}

/** createManager returns the manager or an Error instance (a config error); the latter is thrown. */
function unwrap(value) {
  if (value instanceof Error) throw value
  return value
}

/**
 * Creates the manager (a singleton): validates the configs, runs a first health check of every
 * replica, and resolves. A second call resolves to the manager already initialized.
 */
async function initializeReadReplicaManager(primaryConfig, replicaConfigs = [], options = {}) {
  if (current) return current
  if (starting) return starting
  starting = (async () => {
    const args = readManagerArguments(primaryConfig, replicaConfigs, options)
    const dispatcher = new Dispatcher()
    const recentEvents = new RecentEvents()
    const handler = eventHandler(args.logger, args.onEvent)
    dispatcher.onEvent = (event) => {
      recentEvents.add(event)
      handler?.(event)
    }
    const nativeManager = unwrap(
      native.createManager(
        args.primaryConfig,
        args.replicaConfigs,
        args.nativeOptions,
        args.passwords,
        dispatcher.onComplete,
      ),
    )
    await nativeManager.start()
    current = new ReadReplicaManager(nativeManager, dispatcher, { onClose: forget, recentEvents })
    return current
  })()
  try {
    return await starting
  } finally {
    starting = null
  }
}

/**
 * Initializes the manager from the guide's environment variables (see env.js);
 * `options` as for initializeReadReplicaManager.
 */
async function initializeReadReplicaManagerFromEnv(options = {}) {
  const { primaryConfig, replicaConfigs } = configsFromEnv(process.env)
  return initializeReadReplicaManager(primaryConfig, replicaConfigs, options)
}

/** The initialized manager; throws `Error('Read replica manager not initialized')` before. */
function getReadReplicaManager() {
  if (!current) throw notInitializedError()
  return current
}

/** Closes the manager, if any, gracefully (see `manager.close`), and clears the singleton. */
async function closeReadReplicaManager(timeoutMs) {
  const manager = current
  current = null
  if (manager) await manager.close(timeoutMs)
}

module.exports = {
  initializeReadReplicaManager,
  initializeReadReplicaManagerFromEnv,
  getReadReplicaManager,
  closeReadReplicaManager,
}
