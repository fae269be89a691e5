// Shared by the ORM tests (__test__/orm/): the manager they run on, the `pg` module each library
// is given (`manager.pg`), where a statement ran, and the oracle — the same library on plain `pg`
// against the primary — whose values the manager's must equal.
//
// RRM_ORM_STANDIN=1 replaces `manager.pg` with plain `pg` pointed at the primary: every routing
// assertion then expects the primary and the metrics are not checked. It tells whether a failure
// comes from a library (or a test) or from `manager.pg`.

import assert from 'node:assert/strict'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, PRIMARY_PORT, REPLICA_PORTS, replicated } from '../helpers.mjs'

export { PRIMARY_PORT, REPLICA_PORTS, replicated }
export const { primaryConfig, replicaConfigs } = configs()
export const STANDIN = process.env.RRM_ORM_STANDIN === '1'

/** pg's connection keys for the primary, as the libraries take them. */
export const primary = {
  host: primaryConfig.host,
  port: primaryConfig.port,
  database: primaryConfig.database,
  user: primaryConfig.user,
  password: primaryConfig.password,
}

/** Plain `pg` whose pools and clients connect to the primary whatever they are given. */
function standinPg() {
  class Pool extends pg.Pool {
    constructor(config) {
      super({ ...config, ...primary })
    }
  }
  class Client extends pg.Client {
    constructor(config) {
      super({ ...(typeof config === 'object' ? config : {}), ...primary })
    }
  }
  return { ...pg, Pool, Client, native: null }
}

/** A fresh manager on the local cluster, and the `pg` module the libraries get from it. */
export async function start(options) {
  await closeReadReplicaManager()
  const manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, options)
  const driver = STANDIN ? standinPg() : manager.pg
  assert.ok(driver, 'manager.pg is missing')
  return { manager, driver }
}

export const stop = () => closeReadReplicaManager()

/** Asserts that `port` (from `SELECT inet_server_port()`) is a replica's. */
export function assertReplica(port, what) {
  if (STANDIN) return assert.equal(Number(port), PRIMARY_PORT, what)
  assert.ok(REPLICA_PORTS.includes(Number(port)), `${what}: ran on ${port}, not on a replica (${REPLICA_PORTS})`)
}

/** Asserts that `port` (from `SELECT inet_server_port()`) is the primary's. */
export function assertPrimary(port, what) {
  assert.equal(Number(port), PRIMARY_PORT, `${what}: ran on ${port}, not on the primary`)
}

/**
 * Runs `fn` and checks the manager's counters over it: `'read'` — statements went to a replica
 * and none to the primary; `'write'` — at least one went to the primary (statements outside a
 * transaction); `'pinned'` — none went to a replica (a transaction runs on the connection it
 * pinned, whose statements may or may not count as writes). In each case no read failed over and
 * no replica refused a write. Returns fn's result.
 */
export async function counted(manager, kind, fn) {
  const before = manager.getMetrics()
  const result = await fn()
  const after = manager.getMetrics()
  if (STANDIN) return result
  const delta = (name) => after[name] - before[name]
  const reads = delta('readQueries')
  const writes = delta('writeQueries')
  assert.equal(delta('replicaFailovers'), 0, `a read failed over to the primary during a ${kind}`)
  assert.equal(delta('misroutedReads'), 0, `a replica refused a write during a ${kind}`)
  if (kind === 'read') {
    assert.ok(reads >= 1, `a read counted no replica read (${reads})`)
    assert.equal(writes, 0, `a read counted ${writes} primary statements`)
  } else if (kind === 'write') {
    assert.ok(writes >= 1, `a write counted no primary statement (${writes})`)
  } else if (kind === 'pinned') {
    assert.equal(reads, 0, `a transaction counted ${reads} replica reads`)
  } else {
    throw new TypeError(`unknown kind ${kind}`)
  }
  return result
}

/** Runs `sql` on the primary (outside the library under test): fixtures and checks. */
/**
 * Runs `fn` in a read-your-writes session that starts from `token` (a WAL position, or null) and
 * returns `[its result, the session's token after it]`: a later session given the token sees
 * what this one wrote, on a replica that may lag (a new session alone would not).
 */
export async function inSession(manager, fn, token = null) {
  return manager.withSession(
    async () => {
      const result = await fn()
      return [result, manager.lastWriteLsn() ?? token]
    },
    token === null ? undefined : { minLsn: token },
  )
}

export async function onPrimary(manager, sql, values = []) {
  return (await manager.query(sql, values, { route: 'primary' })).rows
}

/** Drops `tables` on the primary (CASCADE), ignoring missing ones. */
export async function dropTables(manager, ...tables) {
  await manager.query(`DROP TABLE IF EXISTS ${tables.map((t) => `"${t}"`).join(', ')} CASCADE`)
}

/**
 * The type of each value, recursively: 'Date', 'bigint', 'string', 'number', 'Buffer', 'null', …,
 * arrays and plain objects kept as such — to compare what two drivers give one library.
 */
export function shape(value) {
  if (value === null) return 'null'
  if (value instanceof Date) return 'Date'
  if (Buffer.isBuffer(value)) return 'Buffer'
  if (Array.isArray(value)) return value.map(shape)
  if (typeof value === 'object') {
    const name = value.constructor?.name ?? 'Object'
    if (name !== 'Object') return name
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
  }
  return typeof value
}
