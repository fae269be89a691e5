'use strict'
// One measurement, in a process of its own: `node bench/worker.js <adapter> <workload> <ms>`.
// Warms up, then runs the workload for <ms> and prints one JSON line: queries/s, latency
// percentiles, client CPU per query (process-wide, so the addon's threads count) and peak RSS.

const { adapters } = require('./adapters')
const { workloads } = require('./workloads')

const POOL_SIZE = 16

async function drive(db, workload, ms, latencies) {
  const until = performance.now() + ms
  let count = 0
  await Promise.all(
    Array.from({ length: workload.inflight }, async () => {
      while (performance.now() < until) {
        const start = performance.now()
        await workload.run(db)
        if (latencies) latencies.push(performance.now() - start)
        count++
      }
    }),
  )
  return count
}

async function main() {
  const [adapterName, workloadName, msText] = process.argv.slice(2)
  const workload = workloads[workloadName]
  const db = await adapters[adapterName](POOL_SIZE)
  await drive(db, workload, Math.min(1000, Number(msText) / 2)) // warm-up: pools, caches, JIT
  const latencies = []
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const count = await drive(db, workload, Number(msText), latencies)
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  latencies.sort((a, b) => a - b)
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  const result = {
    adapter: adapterName,
    workload: workloadName,
    qps: count / seconds,
    p50: at(0.5),
    p99: at(0.99),
    cpuPerQueryUs: (cpu.user + cpu.system) / count,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }
  await db.close()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
