'use strict'
// The three drivers under test, each behind the same small interface, with the routing a
// read/write-splitting layer in JS does (reads round-robin over the replicas, writes and
// transactions on the primary) for the two JavaScript drivers; and pgpool-II
// (scripts/pgpool.sh), the proxy that routes instead, with a pg.Pool as its client.

const { clusterEnv } = require('../scripts/cluster.js')

/** Where scripts/pgpool.sh has pgpool-II listen. */
const PGPOOL_PORT = Number(process.env.RRM_PGPOOL_PORT ?? 29432)

function settings() {
  const env = clusterEnv()
  const primary = {
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    database: env.DB_NAME,
    user: env.DB_USER,
    password: env.DB_PASSWORD,
  }
  return { primary, replicas: JSON.parse(env.DB_REPLICAS) }
}

/**
 * `count` replica members over the cluster's replicas, in turn (bench/scale.js: the manager's own
 * cost as members grow, on the servers there are); all of them when `count` is not given.
 */
function replicaMembers(replicas, count) {
  if (count === undefined) return replicas
  return Array.from({ length: Number(count) }, (_, i) => ({ ...replicas[i % replicas.length] }))
}

/** A JS manager: one pool per server, round-robin reads, writes on the primary. */
function roundRobin(pools) {
  let next = 0
  return () => pools[next++ % pools.length]
}

/** The statements on one client from `pool.connect()` (BEGIN and COMMIT among them). */
async function onOneClient(pool, statements) {
  const client = await pool.connect()
  try {
    for (const [text, values] of statements) await client.query(text, values)
  } finally {
    client.release()
  }
}

const adapters = {
  async pg(poolSize) {
    const pg = require('pg')
    const { primary, replicas } = settings()
    const primaryPool = new pg.Pool({ ...primary, max: poolSize })
    const replicaPools = replicas.map((r) => new pg.Pool({ ...r, max: poolSize }))
    const pick = roundRobin(replicaPools)
    return {
      read: (text, values) => pick().query(text, values),
      write: (text, values) => primaryPool.query(text, values),
      transaction: (statements) => onOneClient(primaryPool, statements),
      close: () => Promise.all([primaryPool, ...replicaPools].map((p) => p.end())),
    }
  },

  /** node-postgres through pgpool-II (streaming-replication mode, statement-level load balancing,
   * weight 0 on the primary): one pg.Pool as large as the pg adapter's replica pools together;
   * pgpool sends reads to a replica and writes and transactions to the primary. */
  async pgpool(poolSize) {
    const pg = require('pg')
    const { primary, replicas } = settings()
    const pool = new pg.Pool({ ...primary, port: PGPOOL_PORT, max: poolSize * replicas.length })
    return {
      read: (text, values) => pool.query(text, values),
      write: (text, values) => pool.query(text, values),
      transaction: (statements) => onOneClient(pool, statements),
      close: () => pool.end(),
    }
  },

  async postgresjs(poolSize) {
    const postgres = require('postgres')
    const { primary, replicas } = settings()
    const open = (c) =>
      postgres({
        host: c.host,
        port: c.port,
        database: c.database,
        username: c.user,
        password: c.password,
        max: poolSize,
        onnotice: () => {},
      })
    const primarySql = open(primary)
    const replicaSqls = replicas.map(open)
    const pick = roundRobin(replicaSqls)
    return {
      read: (text, values) => pick().unsafe(text, values, { prepare: true }),
      write: (text, values) => primarySql.unsafe(text, values, { prepare: true }),
      async transaction(statements) {
        // postgres.js runs BEGIN / COMMIT itself around its callback, on one connection.
        await primarySql.begin(async (sql) => {
          for (const [text, values] of statements.slice(1, -1)) await sql.unsafe(text, values, { prepare: true })
        })
      },
      close: () => Promise.all([primarySql, ...replicaSqls].map((s) => s.end())),
    }
  },

  /** The manager inside read-your-writes sessions: writes report their WAL position, reads
   * carry the position of a write every replica has replayed (the common case). */
  async 'manager-session'(poolSize) {
    const db = await adapters.manager(poolSize)
    const rrm = require('..')
    const manager = rrm.getReadReplicaManager()
    const token = await manager.withSession(async () => {
      await manager.query('INSERT INTO bench_writes (v, t) VALUES (0, $1)', ['token'])
      return manager.lastWriteLsn()
    })
    await new Promise((r) => setTimeout(r, 500)) // let the replicas replay it
    return {
      read: (text, values) => manager.withSession(() => manager.query(text, values), { minLsn: token }),
      write: (text, values) => manager.withSession(() => manager.query(text, values)),
      transaction: db.transaction,
      close: db.close,
    }
  },

  /** The manager through `manager.pg`, as an ORM uses it: a routing Pool, a client per transaction. */
  async 'manager-pg'(poolSize) {
    const db = await adapters.manager(poolSize)
    const manager = require('..').getReadReplicaManager()
    const pool = new manager.pg.Pool()
    return {
      read: (text, values) => pool.query(text, values),
      write: (text, values) => pool.query(text, values),
      transaction: (statements) => onOneClient(pool, statements),
      close: db.close,
    }
  },

  /** The manager with no connection shared (`pipelineDepth: 1`): what pipelining gives. */
  'manager-nopipe': (poolSize) => adapters.manager(poolSize, { pipelineDepth: 1 }),

  /** The manager with brisk statements taking idle connections first (`briskDepth: 1`):
   * what keeping them to few connections gives. */
  'manager-nobrisk': (poolSize) => adapters.manager(poolSize, { briskDepth: 1 }),

  /** The manager with the statement stats off (`queryStatsSize: 0`): what the stats cost. */
  'manager-nostats': (poolSize) => adapters.manager(poolSize, { queryStatsSize: 0 }),

  /** The manager with a diagnostics_channel subscriber: what a traced statement costs. */
  'manager-channel'(poolSize) {
    const channel = require('node:diagnostics_channel').tracingChannel('read-replica-manager:query')
    const noop = () => {}
    channel.subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop })
    return adapters.manager(poolSize)
  },

  /** The manager with the OpenTelemetry SDK recording every statement's span (spans dropped at export). */
  'manager-otel'(poolSize) {
    const { context, trace } = require('@opentelemetry/api')
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
    const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
    const dropping = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {} }
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(dropping)] }))
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    return adapters.manager(poolSize)
  },

  /** BENCH_OPTIONS (JSON) adds options, to try a setting: `BENCH_OPTIONS='{"briskDepth":4}'`. */
  async manager(poolSize, options = {}) {
    const rrm = require('..')
    const { primary, replicas } = settings()
    const members = replicaMembers(replicas, process.env.BENCH_MEMBERS)
    const tried = JSON.parse(process.env.BENCH_OPTIONS ?? '{}')
    const manager = await rrm.initializeReadReplicaManager(primary, members, { max: poolSize, ...options, ...tried })
    return {
      read: (text, values) => manager.query(text, values),
      write: (text, values) => manager.query(text, values),
      async transaction(statements) {
        const client = await manager.getClient('write')
        try {
          for (const [text, values] of statements) await client.query(text, values)
        } finally {
          client.release()
        }
      },
      close: () => rrm.closeReadReplicaManager(),
    }
  },
}

module.exports = { adapters, settings, PGPOOL_PORT }
