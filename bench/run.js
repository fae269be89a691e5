'use strict'
// `npm run bench`: node-postgres, postgres.js and this manager on the same workloads against
// the local cluster (and the manager inside read-your-writes sessions for the point read and
// the insert, to show what sessions cost; and through manager.pg's routing Pool and Client for the
// point read and the transaction, as ORMs use it; and, on the point reads, with the statement stats
// off, with a diagnostics_channel subscriber and with OpenTelemetry recording, to show what
// insights cost; and on 64 in flight with pipelining off, to show what sharing busy connections
// gives), and node-postgres through pgpool-II, the proxy a team would otherwise put in
// front of its replicas (scripts/pgpool.sh: started here after the cluster, stopped at the end,
// its per-node select_cnt printed as proof that the reads went to the replicas), interleaved in
// rounds (the order rotating), each measurement in a child process of its own after a warm-up;
// plus pgbench as the C client's limit for the point read.
//
// BENCH_ROUNDS (default 3) and BENCH_MS (default 3000) set the length; BENCH_ONLY picks
// workloads by name (comma-separated substrings); BENCH_WRITE=1 writes bench/RESULTS.md;
// BENCH_PGPOOL=0 leaves pgpool-II out; BENCH_SKIP_BUILD=1 measures the addon as built (no
// `npm run build` first). Then bench/scale.js (members, 1,024 in flight, health checks) runs,
// unless BENCH_ONLY is set or BENCH_SCALE=0.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const pg = require('pg')
const { ensureCluster } = require('../scripts/cluster.js')
const { settings, PGPOOL_PORT } = require('./adapters')
const { workloads, prepare, replicasReady, ROWS } = require('./workloads')

const root = path.resolve(__dirname, '..')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const MS = Number(process.env.BENCH_MS ?? 3000)
const ADAPTERS = ['pg', 'postgresjs', 'manager']
const PGPOOL = path.join(root, 'scripts', 'pgpool.sh')
const INSIGHT_ADAPTERS = ['manager-nostats', 'manager-channel', 'manager-otel']
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
// The scale workloads are bench/scale.js's (the manager alone, at the end).
const chosen = Object.keys(workloads).filter((w) => !workloads[w].scale && (!only || only.some((o) => w.includes(o))))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function measure(adapter, workload) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'worker.js'), adapter, workload, String(MS)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return JSON.parse(out.trim().split('\n').pop())
}

function pgbench(clients) {
  const { replicas } = settings()
  const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
  const script = path.join(os.tmpdir(), 'rrm-bench-point.sql')
  fs.writeFileSync(script, `\\set id random(1, ${ROWS})\nSELECT id, i4, t FROM bench_items WHERE id = :id;\n`)
  const r = replicas[0]
  const out = execFileSync(
    path.join(bindir, 'pgbench'),
    [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      String(Math.max(2, Math.round(MS / 1000))),
      '-f',
      script,
      '-h',
      r.host,
      '-p',
      String(r.port),
      '-U',
      r.user,
      r.database,
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: r.password }, stdio: ['ignore', 'pipe', 'ignore'] },
  )
  return Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN)
}

/** Starts pgpool-II (installing it when missing); false, with one line why, when it cannot. */
function startPgpool() {
  try {
    execFileSync('bash', [PGPOOL, 'start'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return true
  } catch (err) {
    const why = err.stderr?.trim().split('\n').pop() ?? err.message
    // Exit code 3: not installed and not installable here; anything else is worth the whole story.
    if (err.status !== 3) process.stderr.write(err.stderr ?? '')
    process.stderr.write(`${why}: no pgpool row\n`)
    return false
  }
}

let pgpoolRunning = false
function stopPgpool() {
  if (!pgpoolRunning) return
  pgpoolRunning = false
  execFileSync('bash', [PGPOOL, 'stop'], { cwd: root, stdio: 'inherit' })
}
process.on('exit', stopPgpool)
process.on('SIGINT', () => {
  stopPgpool()
  process.exit(130)
})

/** `SHOW pool_nodes`' select_cnt per node, as one line. */
async function pgpoolSelectCounts() {
  const { primary } = settings()
  const client = new pg.Client({ ...primary, port: PGPOOL_PORT })
  await client.connect()
  try {
    const { rows } = await client.query('SHOW pool_nodes')
    return `pgpool-II select_cnt per node: ${rows.map((r) => `node ${r.node_id} (${r.role}, port ${r.port}) ${r.select_cnt}`).join(', ')}`
  } finally {
    await client.end()
  }
}

async function main() {
  if (process.env.BENCH_SKIP_BUILD !== '1')
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
  ensureCluster(2)
  const { primary } = settings()
  await prepare(pg, primary)
  // Replicas must have the table before reads start.
  await replicasReady(pg, settings().replicas)
  if (process.env.BENCH_PGPOOL !== '0') pgpoolRunning = startPgpool()
  try {
    await benchmark()
  } finally {
    stopPgpool()
  }
  // How the manager's cost grows with members and load (bench/scale.js), unless BENCH_ONLY picks.
  if (!only && process.env.BENCH_SCALE !== '0') await require('./scale').main()
}

async function benchmark() {
  const results = {} // workload → adapter → [result per round]
  for (let round = 0; round < ROUNDS; round++) {
    for (const workload of chosen) {
      // Read-your-writes sessions are measured where their cost shows: point reads and inserts;
      // manager.pg (the routing Pool and Client) on point reads and transactions.
      // What insights cost (stats off, a channel subscriber, OpenTelemetry) on point reads.
      // Pipelining off (pipelineDepth: 1) where more statements run at once than connections;
      // brisk statements not gathered (briskDepth: 1) where many short ones run at once.
      const { sessions, pgApi, insights, pipeline, brisk } = workloads[workload]
      const adapters = [
        ...ADAPTERS,
        ...(pgpoolRunning ? ['pgpool'] : []),
        ...(sessions ? ['manager-session'] : []),
        ...(pgApi ? ['manager-pg'] : []),
        ...(insights ? INSIGHT_ADAPTERS : []),
        ...(pipeline ? ['manager-nopipe'] : []),
        ...(brisk ? ['manager-nobrisk'] : []),
      ]
      const order = adapters.map((_, i) => adapters[(i + round) % adapters.length])
      for (const adapter of order) {
        const r = measure(adapter, workload)
        await new Promise((resolve) => setImmediate(resolve)) // a SIGINT's handler runs here
        results[workload] ??= {}
        results[workload][adapter] ??= []
        results[workload][adapter].push(r)
        process.stderr.write(
          `round ${round + 1}/${ROUNDS} ${workload.padEnd(16)} ${adapter.padEnd(10)} ${r.qps.toFixed(0).padStart(7)} q/s\n`,
        )
      }
    }
  }
  const selectCounts = pgpoolRunning ? await pgpoolSelectCounts() : ''
  stopPgpool()
  const pgbenchTps = chosen.filter((w) => w.startsWith('point read')).map((w) => [w, pgbench(workloads[w].inflight)])

  const lines = []
  lines.push(
    `| workload | adapter | queries/s | p50 ms | p99 ms | CPU µs/query | peak RSS MB | × pg (median of rounds) |`,
  )
  lines.push(`|---|---|---:|---:|---:|---:|---:|---:|`)
  for (const workload of chosen) {
    for (const adapter of Object.keys(results[workload])) {
      const rs = results[workload][adapter]
      const ratios = rs.map((r, i) => r.qps / results[workload].pg[i].qps)
      lines.push(
        `| ${workload} | ${adapter} | ${median(rs.map((r) => r.qps)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${median(rs.map((r) => r.cpuPerQueryUs)).toFixed(1)} | ${Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0)} | ${median(ratios).toFixed(2)} |`,
      )
    }
    const tps = pgbenchTps.find(([w]) => w === workload)
    if (tps) lines.push(`| ${workload} | pgbench (C, one replica) | ${tps[1].toFixed(0)} | | | | | |`)
  }
  const table = lines.join('\n')
  console.log(`\n${table}\n`)
  if (selectCounts) console.log(selectCounts)
  console.log(
    `${ROUNDS} rounds × ${MS} ms per measurement, pool size 16 per server, ${os.cpus().length} cores, Node ${process.version}`,
  )
  if (process.env.BENCH_WRITE === '1') {
    const date = new Date().toISOString().slice(0, 10)
    const md = `# Benchmark results\n\n${date}, this project's machine (${os.cpus().length} cores, ${os.cpus()[0].model}), Node ${process.version}, PostgreSQL primary + 2 streaming replicas on localhost (scripts/cluster.sh)${selectCounts ? ', pgpool-II in front of them (scripts/pgpool.sh)' : ''}, ${ROUNDS} rounds × ${MS} ms per measurement, pool size 16 per server. Produced by \`BENCH_WRITE=1 npm run bench\`.\n\n${table}\n${selectCounts ? `\n${selectCounts}\n` : ''}`
    fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), md)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
