// Shared by the integration tests: the local cluster's configs and small polling helpers.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
export const { cluster, clusterStatus, clusterEnv } = require('../scripts/cluster.js')

const env = clusterEnv()
export const PASSWORD = env.DB_PASSWORD
export const PRIMARY_PORT = Number(env.DB_PORT)
export const replicaEnv = JSON.parse(env.DB_REPLICAS)
export const REPLICA_PORTS = replicaEnv.map((r) => r.port)

/** The guide's config objects (docs/guide.md, "Initialize Read Replica Manager") for the cluster. */
export function configs() {
  return {
    primaryConfig: {
      host: env.DB_HOST,
      port: PRIMARY_PORT,
      database: env.DB_NAME,
      user: env.DB_USER,
      password: env.DB_PASSWORD,
    },
    replicaConfigs: replicaEnv.map((r) => ({ ...r })),
  }
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 30_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** The port of the server that ran a read, which tells replica from primary. */
export async function servedBy(manager, options) {
  const { rows } = await manager.query('SELECT inet_server_port() AS port', [], options)
  return rows[0].port
}

/**
 * Waits until every replica has replayed the primary's WAL up to now (pg_stat_replication).
 * The insert position, not the write position: with asynchronous commit (this cluster runs
 * synchronous_commit = off) a commit can be inserted but not yet written.
 */
export async function replicated(manager, replicas = REPLICA_PORTS.length) {
  const { rows } = await manager.query('SELECT pg_current_wal_insert_lsn()::text AS lsn', [], { route: 'primary' })
  await waitFor(`replicas to replay ${rows[0].lsn}`, async () => {
    const r = await manager.query(
      'SELECT count(*)::int AS n FROM pg_stat_replication WHERE replay_lsn >= $1::pg_lsn',
      [rows[0].lsn],
      { route: 'primary' },
    )
    return r.rows[0].n >= replicas
  })
}
