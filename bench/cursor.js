'use strict'
// bench/cursor.js: the memory a large read takes, through manager.query() (the whole result at
// once) and through manager.cursor() (a batch at a time): peak RSS of reading the same
// 1,000,000 rows × 6 mixed columns (int4, int8, text, float8, timestamptz, bool) on the local
// cluster. Each way runs in a child process of its own, so that each peak is its own.
//
//   node bench/cursor.js            # the cluster must be running (scripts/cluster.sh start)
//   BENCH_ROWS=100000 node bench/cursor.js
//
// Figures from this machine are in README ("Large results"). RSS counts everything the process
// holds: Node itself, the addon and its tokio runtime, so the baseline (after connecting, before
// the read) is shown too.

const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { settings } = require('./adapters')

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const SQL = `SELECT g AS id, g::int8 * 1000 AS big, md5(g::text) AS name, g * 1.5::float8 AS score,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS at, g % 2 = 0 AS flag
  FROM generate_series(1, $1::int) g`
const WAYS = [
  { name: 'manager.query()', way: 'query' },
  { name: 'manager.cursor(), batchSize 100', way: 'cursor', batchSize: 100 },
  { name: 'manager.cursor(), batchSize 1000', way: 'cursor', batchSize: 1000 },
]

/** In a child: reads the rows one way and prints what it measured, as JSON. */
async function measure(way, batchSize) {
  const { initializeReadReplicaManager, closeReadReplicaManager } = require('..')
  const { primary, replicas } = settings()
  const manager = await initializeReadReplicaManager(primary, replicas)
  await manager.query('SELECT 1')
  const baseline = process.memoryUsage().rss
  const started = process.hrtime.bigint()
  let rows = 0
  let checksum = 0
  if (way === 'query') {
    const result = await manager.query(SQL, [ROWS])
    for (const row of result.rows) {
      rows++
      checksum += row.id
    }
  } else {
    for await (const row of manager.cursor(SQL, [ROWS], { batchSize })) {
      rows++
      checksum += row.id
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const peak = process.resourceUsage().maxRSS * 1024
  await closeReadReplicaManager()
  process.stdout.write(JSON.stringify({ rows, checksum, baseline, peak, seconds }))
}

function main() {
  const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`
  console.log(`${ROWS.toLocaleString('en')} rows × 6 columns, one child process per way\n`)
  console.log('| way | peak RSS | baseline RSS | peak − baseline | seconds |')
  console.log('|---|---:|---:|---:|---:|')
  for (const { name, way, batchSize } of WAYS) {
    const child = spawnSync(process.execPath, [__filename, way, String(batchSize ?? 0)], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    })
    if (child.status !== 0) throw new Error(`${name} failed (exit ${child.status})`)
    const m = JSON.parse(child.stdout)
    if (m.rows !== ROWS) throw new Error(`${name} read ${m.rows} rows, not ${ROWS}`)
    console.log(
      `| ${name} | ${mb(m.peak)} | ${mb(m.baseline)} | ${mb(m.peak - m.baseline)} | ${m.seconds.toFixed(1)} |`,
    )
  }
}

if (process.argv[2]) {
  measure(process.argv[2], Number(process.argv[3])).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  main()
}
