'use strict'
// `npm run bench:scale` (and the end of `npm run bench`): how the manager's cost grows with the
// cluster and the load — per-query CPU with 1, 2, 4 and 8 replica members (point read x16; the
// members take turns over the local cluster's replicas, so this is the manager's own cost per
// member, not more servers' work), 1,024 queries in flight on a pool of 32 against 64 on the same
// pool, and what health checks of 8 replicas every second cost an idle process.
//
// BENCH_ROUNDS (default 3) and BENCH_MS (default 3000) as for bench/run.js; BENCH_WRITE=1 writes
// bench/SCALE.md.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const pg = require('pg')
const { ensureCluster } = require('../scripts/cluster.js')
const { ensureBuilt } = require('../scripts/ensure-built.js')
const { settings } = require('./adapters')
const { prepare, replicasReady } = require('./workloads')

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const MS = Number(process.env.BENCH_MS ?? 3000)
const MEMBERS = [1, 2, 4, 8]
/** How long the idle process is watched for the health checks' cost. */
const HEALTH_MS = Number(process.env.BENCH_HEALTH_MS ?? 20_000)

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function measure(adapter, workload, env = {}) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'worker.js'), adapter, workload, String(MS)], {
    cwd: path.resolve(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return JSON.parse(out.trim().split('\n').pop())
}

/** Rounds of `cases` (each `[label, adapter, workload, env]`), interleaved; the median per case. */
function rounds(cases) {
  const results = new Map(cases.map(([label]) => [label, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, adapter, workload, env] of cases) {
      const r = measure(adapter, workload, env)
      results.get(label).push(r)
      process.stderr.write(
        `scale round ${round + 1}/${ROUNDS} ${label.padEnd(34)} ${r.qps.toFixed(0).padStart(7)} q/s\n`,
      )
    }
  }
  return cases.map(([label]) => {
    const rs = results.get(label)
    return {
      label,
      qps: median(rs.map((r) => r.qps)),
      p99: median(rs.map((r) => r.p99)),
      cpu: median(rs.map((r) => r.cpuPerQueryUs)),
      switches: median(rs.map((r) => r.switchesPerQuery)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      rss: Math.max(...rs.map((r) => r.peakRssMb)),
    }
  })
}

/**
 * CPU an idle process spends on the health checks of `members` replica members every second:
 * the same process shape with checks every second and with checks every hour, each watched for
 * HEALTH_MS after its start.
 */
function healthCost(members) {
  const idle = (interval) =>
    JSON.parse(
      execFileSync(process.execPath, [__filename, '--idle', String(members), String(interval)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
        .trim()
        .split('\n')
        .pop(),
    )
  const checked = idle(1000)
  const quiet = idle(3_600_000)
  return {
    members,
    checkedUs: checked.cpuUs,
    quietUs: quiet.cpuUs,
    percentOfCore: ((checked.cpuUs - quiet.cpuUs) / (HEALTH_MS * 1000)) * 100,
  }
}

/** The child of healthCost: a manager with `members` replicas, doing nothing but its checks. */
async function idleChild(members, interval) {
  const rrm = require('..')
  const { primary, replicas } = settings()
  const list = Array.from({ length: members }, (_, i) => ({ ...replicas[i % replicas.length] }))
  await rrm.initializeReadReplicaManager(primary, list, { healthCheckInterval: interval })
  await new Promise((resolve) => setTimeout(resolve, 2000)) // connections open, first checks done
  const before = process.cpuUsage()
  await new Promise((resolve) => setTimeout(resolve, HEALTH_MS))
  const cpu = process.cpuUsage(before)
  await rrm.closeReadReplicaManager()
  process.stdout.write(`${JSON.stringify({ cpuUs: cpu.user + cpu.system })}\n`)
}

async function main() {
  ensureBuilt()
  ensureCluster(2)
  const { primary, replicas } = settings()
  await prepare(pg, primary)
  await replicasReady(pg, replicas)
  const memberRows = rounds(
    MEMBERS.map((n) => [
      `point read x16, ${n} replica member${n > 1 ? 's' : ''}`,
      'manager',
      'point read x16',
      { BENCH_MEMBERS: String(n) },
    ]),
  )
  const loadRows = rounds([
    ['64 in flight, pool 32', 'manager', 'point read x64 (pool 32)', {}],
    ['1,024 in flight, pool 32', 'manager', 'point read x1024 (pool 32)', {}],
    ['1,024 in flight, pool 32, no pipelining', 'manager-nopipe', 'point read x1024 (pool 32)', {}],
  ])
  const health = healthCost(8)

  const lines = [
    '| case | queries/s | p99 ms | CPU µs/query | switches/query | errors | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of [...memberRows, ...loadRows]) {
    lines.push(
      `| ${r.label} | ${r.qps.toFixed(0)} | ${r.p99.toFixed(2)} | ${r.cpu.toFixed(1)} | ${r.switches.toFixed(2)} | ${r.errors} | ${r.rss.toFixed(0)} |`,
    )
  }
  const healthLine = `Health checks of ${health.members} replica members every 1 s, idle process: ${health.percentOfCore.toFixed(2)}% of one core (${(health.checkedUs / 1000).toFixed(0)} ms of CPU in ${HEALTH_MS / 1000} s with checks every second, ${(health.quietUs / 1000).toFixed(0)} ms with checks every hour).`
  const table = `${lines.join('\n')}\n\n${healthLine}`
  console.log(`\n${table}\n`)
  if (process.env.BENCH_WRITE === '1') {
    const date = new Date().toISOString().slice(0, 10)
    const md = `# Scale\n\n${date}, this project's machine (${os.cpus().length} cores, ${os.cpus()[0].model}), Node ${process.version}, the local cluster (primary + 2 streaming replicas), ${ROUNDS} rounds × ${MS} ms per measurement, medians. Produced by \`BENCH_WRITE=1 npm run bench:scale\` (bench/scale.js). Replica members beyond two take turns over the same two servers: the rows show the manager's own cost per member.\n\n${table}\n`
    fs.writeFileSync(path.join(__dirname, 'SCALE.md'), md)
  }
}

module.exports = { main }

if (require.main === module) {
  if (process.argv[2] === '--idle') {
    idleChild(Number(process.argv[3]), Number(process.argv[4])).catch((err) => {
      console.error(err)
      process.exit(1)
    })
  } else {
    main().catch((err) => {
      console.error(err)
      process.exit(1)
    })
  }
}
