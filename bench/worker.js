'use strict'
// One measurement, in a process of its own: `node bench/worker.js <adapter> <workload> <ms>`.
// Warms up, then runs the workload for <ms> and prints one JSON line: queries/s, latency
// percentiles, client CPU per query (process-wide, so the addon's threads count), context
// switches per query (every thread's), failed queries and peak RSS. BENCH_POOL overrides the pool
// size (connections per server), to see what fewer or more connections do.

const fs = require('node:fs')
const { adapters } = require('./adapters')
const { workloads } = require('./workloads')

/** Connections per server, unless the workload names its own. */
const POOL_SIZE = 16

/** Runs the workload for `ms`; a failed query is counted, never fatal (the row then says so). */
async function drive(db, workload, ms, latencies) {
  const until = performance.now() + ms
  let count = 0
  let errors = 0
  await Promise.all(
    Array.from({ length: workload.inflight }, async () => {
      while (performance.now() < until) {
        const start = performance.now()
        try {
          await workload.run(db)
        } catch {
          errors++
          continue
        }
        if (latencies) latencies.push(performance.now() - start)
        count++
      }
    }),
  )
  return { count, errors }
}

/** Context switches of every thread of this process so far (Linux; 0 elsewhere). */
function contextSwitches() {
  try {
    let total = 0
    for (const task of fs.readdirSync('/proc/self/task')) {
      const status = fs.readFileSync(`/proc/self/task/${task}/status`, 'utf8')
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(m[1])
    }
    return total
  } catch {
    return 0
  }
}

async function main() {
  const [adapterName, workloadName, msText] = process.argv.slice(2)
  const workload = workloads[workloadName]
  const db = await adapters[adapterName](Number(process.env.BENCH_POOL) || workload.pool || POOL_SIZE)
  await drive(db, workload, Math.min(1000, Number(msText) / 2)) // warm-up: pools, caches, JIT
  const latencies = []
  const cpuBefore = process.cpuUsage()
  const switchesBefore = contextSwitches()
  const started = performance.now()
  const { count, errors } = await drive(db, workload, Number(msText), latencies)
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const switches = contextSwitches() - switchesBefore
  latencies.sort((a, b) => a - b)
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  const result = {
    adapter: adapterName,
    workload: workloadName,
    qps: count / seconds,
    p50: at(0.5),
    p99: at(0.99),
    cpuPerQueryUs: (cpu.user + cpu.system) / count,
    switchesPerQuery: switches / count,
    errors,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }
  await db.close()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
