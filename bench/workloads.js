'use strict'
// The benchmark's workloads: each is a query shape and how many run at once.

const ROWS = 100_000

const randomId = () => 1 + Math.floor(Math.random() * ROWS)
const rangeStart = (width) => 1 + Math.floor(Math.random() * (ROWS - width))

const RANGE = 'SELECT i4, i8, t, f8, ts, b FROM bench_items WHERE id >= $1 AND id < $1 + $2'

const workloads = {
  'point read x1': {
    inflight: 1,
    pgApi: true,
    insights: true,
    run: (db) => db.read('SELECT id, i4, t FROM bench_items WHERE id = $1', [randomId()]),
  },
  'point read x16': {
    inflight: 16,
    brisk: true,
    sessions: true,
    pgApi: true,
    insights: true,
    run: (db) => db.read('SELECT id, i4, t FROM bench_items WHERE id = $1', [randomId()]),
  },
  'point read x64': {
    inflight: 64,
    brisk: true,
    pipeline: true,
    run: (db) => db.read('SELECT id, i4, t FROM bench_items WHERE id = $1', [randomId()]),
  },
  // Scale (bench/scale.js): far more queries in flight than connections.
  'point read x64 (pool 32)': {
    inflight: 64,
    pool: 32,
    scale: true,
    run: (db) => db.read('SELECT id, i4, t FROM bench_items WHERE id = $1', [randomId()]),
  },
  'point read x1024 (pool 32)': {
    inflight: 1024,
    pool: 32,
    scale: true,
    run: (db) => db.read('SELECT id, i4, t FROM bench_items WHERE id = $1', [randomId()]),
  },
  '1,000 rows x 6': { inflight: 4, run: (db) => db.read(RANGE, [rangeStart(1000), 1000]) },
  '10,000 rows x 6': { inflight: 2, run: (db) => db.read(RANGE, [rangeStart(10_000), 10_000]) },
  'insert x16': {
    inflight: 16,
    brisk: true,
    sessions: true,
    run: (db) => db.write('INSERT INTO bench_writes (v, t) VALUES ($1, $2)', [randomId(), 'bench']),
  },
  'transaction x16': {
    inflight: 16,
    pgApi: true,
    run: (db) =>
      db.transaction([
        ['BEGIN', []],
        ['INSERT INTO bench_writes (v, t) VALUES ($1, $2)', [randomId(), 'tx']],
        ['COMMIT', []],
      ]),
  },
}

/** Creates and fills the tables (once per run, on the primary). */
async function prepare(pg, primary) {
  const client = new pg.Client(primary)
  await client.connect()
  try {
    const { rows } = await client
      .query("SELECT to_regclass('bench_items') IS NOT NULL AND (SELECT count(*) FROM bench_items) = $1 AS ready", [
        ROWS,
      ])
      .catch(() => ({ rows: [{ ready: false }] }))
    if (!rows[0].ready) {
      await client.query('DROP TABLE IF EXISTS bench_items')
      await client.query(`CREATE TABLE bench_items (id int PRIMARY KEY, i4 int NOT NULL, i8 bigint NOT NULL,
        t text NOT NULL, f8 float8 NOT NULL, ts timestamptz NOT NULL, b bool NOT NULL)`)
      await client.query(`INSERT INTO bench_items SELECT g, g % 1000, g::bigint * 1000003, 'item ' || g, g / 7.0,
        '2024-01-01'::timestamptz + g * interval '1 minute', g % 2 = 0 FROM generate_series(1, ${ROWS}) g`)
      await client.query('ANALYZE bench_items')
    }
    await client.query('CREATE UNLOGGED TABLE IF NOT EXISTS bench_writes (id bigserial PRIMARY KEY, v int, t text)')
    await client.query('TRUNCATE bench_writes')
  } finally {
    await client.end()
  }
}

/** Waits until every replica has replayed the tables `prepare` made. */
async function replicasReady(pg, replicas) {
  for (const config of replicas) {
    for (;;) {
      const client = new pg.Client(config)
      await client.connect()
      const { rows } = await client
        .query("SELECT to_regclass('bench_items') IS NOT NULL AND (SELECT count(*) FROM bench_items) = $1 AS ready", [
          ROWS,
        ])
        .catch(() => ({ rows: [{ ready: false }] }))
      await client.end()
      if (rows[0].ready) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

module.exports = { workloads, prepare, replicasReady, ROWS }
