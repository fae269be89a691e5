'use strict'
// bench/mixed.js: what gathering brisk statements (briskDepth) does to fast reads beside a slow
// one. 15 point reads in flight and one loop of a 20 ms report, through the manager, with brisk
// statements gathered (briskDepth 8, the default) and not (briskDepth 1), rounds alternating:
// the point reads' queries/s and latency percentiles, and how many statements shared a connection.
//
//   node bench/mixed.js             # the cluster must be running (scripts/cluster.sh start)
//   BENCH_ROUNDS=5 BENCH_MS=5000 node bench/mixed.js
//
// Figures from this machine are in README ("Brisk statements").

const { initializeReadReplicaManager, closeReadReplicaManager } = require('..')
const { settings } = require('./adapters')
const { prepare, replicasReady, ROWS } = require('./workloads')

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const MS = Number(process.env.BENCH_MS ?? 3000)
const POINT = 'SELECT id, i4, t FROM bench_items WHERE id = $1'
const REPORT = 'SELECT pg_sleep(0.02), count(*) FROM bench_items WHERE id < $1'

/** Runs the mix for `ms`; the point reads' latencies go to `latencies` when given. */
async function mix(manager, ms, latencies) {
  const until = performance.now() + ms
  let reports = 0
  await Promise.all([
    ...Array.from({ length: 15 }, async () => {
      while (performance.now() < until) {
        const started = performance.now()
        await manager.query(POINT, [1 + Math.floor(Math.random() * ROWS)])
        latencies?.push(performance.now() - started)
      }
    }),
    (async () => {
      while (performance.now() < until) {
        await manager.query(REPORT, [1000])
        reports++
      }
    })(),
  ])
  return reports
}

async function measure(briskDepth) {
  const { primary, replicas } = settings()
  const manager = await initializeReadReplicaManager(primary, replicas, { max: 16, briskDepth })
  try {
    await mix(manager, 1000) // warm-up: connections, statement caches, what is brisk
    const latencies = []
    const reports = await mix(manager, MS, latencies)
    latencies.sort((a, b) => a - b)
    const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2)
    const pipelined = Object.values(manager.getReplicaStatus()).reduce((n, s) => n + s.pipelined, 0)
    const qps = Math.round(latencies.length / (MS / 1000))
    const max = latencies.at(-1).toFixed(1)
    return `${String(qps).padStart(6)} q/s  p50 ${at(0.5)}  p99 ${at(0.99)}  p99.9 ${at(0.999)}  max ${max} ms  reports ${reports}  pipelined ${pipelined}`
  } finally {
    await closeReadReplicaManager()
  }
}

async function main() {
  const pg = require('pg')
  const { primary, replicas } = settings()
  await prepare(pg, primary)
  await replicasReady(pg, replicas)
  for (let round = 1; round <= ROUNDS; round++) {
    for (const depth of round % 2 ? [8, 1] : [1, 8]) {
      console.log(`round ${round} briskDepth ${String(depth).padEnd(2)} ${await measure(depth)}`)
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
