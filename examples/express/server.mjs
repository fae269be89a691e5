// The guide's Express backend (docs/guide.md): initializes the manager from the guide's
// environment variables exactly as the guide does, and serves its /health/replicas route, a read
// and a write route, a route that writes then reads back (with and without a read-your-writes
// session), and the live dashboard at /dashboard.
//
//   DB_HOST=… DB_PORT=… DB_NAME=… DB_USER=… DB_PASSWORD=… DB_REPLICAS='[…]' node server.mjs
//
// `npm run demo` starts a local primary + 2 replicas and runs this with their settings.
import express from 'express'
import {
  closeReadReplicaManager,
  dashboardHandler,
  getReadReplicaManager,
  healthCheckHandler,
  initializeReadReplicaManager,
  metricsHandler,
} from 'read-replica-manager'

// --- from the guide: Initialize Read Replica Manager ---
// biome-ignore format: the guide's sample (docs/guide.md), verbatim
const primaryConfig = {
  host: process.env.DB_HOST,
  port: parseInt(process.env.DB_PORT),
  database: process.env.DB_NAME,
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,
};

// biome-ignore format: the guide's sample (docs/guide.md), verbatim
const replicaConfigs = process.env.DB_REPLICAS
  ? JSON.parse(process.env.DB_REPLICAS)
  : [];

// biome-ignore format: the guide's sample (docs/guide.md), verbatim
const replicaManager = await initializeReadReplicaManager(primaryConfig, replicaConfigs);
// --- end of the guide's sample ---

await replicaManager.query('CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, name text)')

const app = express()
app.use(express.json())

// Each request runs in a read-your-writes session of its own: a read after a write in the same
// request sees that write, from a replica that has replayed it or else from the primary (README,
// "Read-your-writes"). `?session=off` skips the session, to show what happens without one.
const inSession = replicaManager.sessionMiddleware()
app.use((req, res, next) => (req.query.session === 'off' ? next() : inSession(req, res, next)))

// --- from the guide: Health Check Endpoint ---
// biome-ignore format: the guide's sample (docs/guide.md), verbatim
app.get('/health/replicas', (req, res) => {
  const manager = getReadReplicaManager();
  const status = manager.getReplicaStatus();
  const metrics = manager.getMetrics();
  
  res.json({
    status: 'ok',
    replicas: status,
    metrics: metrics
  });
});
// --- end of the guide's sample ---

// For load balancers: 503 when the primary is unreachable or no replica can serve reads.
app.get('/ready', healthCheckHandler({ strict: true }))
// Prometheus scrapes this.
app.get('/metrics', metricsHandler())
// The live dashboard: members, query rates, failovers on a timeline, the top statements.
app.use('/dashboard', dashboardHandler())

// A read: routed to a replica. `served_by` shows which server answered.
app.get('/users/:id', async (req, res) => {
  const manager = getReadReplicaManager()
  const result = await manager.query('SELECT id, name, inet_server_port() AS served_by FROM users WHERE id = $1', [
    req.params.id,
  ])
  if (result.rowCount === 0) return res.status(404).json({ error: 'not found' })
  res.json(result.rows[0])
})

// A write: routed to the primary.
app.post('/users', async (req, res) => {
  const name = req.body?.name
  if (typeof name !== 'string' || name.length === 0) {
    return res.status(400).json({ error: 'body must be JSON with a non-empty "name"' })
  }
  const manager = getReadReplicaManager()
  const result = await manager.query(
    'INSERT INTO users (name) VALUES ($1) RETURNING id, name, inet_server_port() AS served_by',
    [name],
  )
  res.status(201).json(result.rows[0])
})

// A write, then a read of the same row in the same request: the read-after-write case. In the
// session the read sees the row; with `?session=off` it goes to any replica, which may not have
// replayed the insert yet (`found: false`). `served_by` tells which server answered each.
app.post('/users/write-then-read', async (req, res) => {
  const name = req.body?.name
  if (typeof name !== 'string' || name.length === 0) {
    return res.status(400).json({ error: 'body must be JSON with a non-empty "name"' })
  }
  const manager = getReadReplicaManager()
  const inserted = await manager.query(
    'INSERT INTO users (name) VALUES ($1) RETURNING id, name, inet_server_port() AS served_by',
    [name],
  )
  const { id } = inserted.rows[0]
  // One row whatever the replica has replayed: the server that answered, and the row if it saw it.
  const read = await manager.query(
    'SELECT inet_server_port() AS served_by, (SELECT name FROM users WHERE id = $1) AS name',
    [id],
  )
  const { served_by, name: seen } = read.rows[0]
  res.status(201).json({
    session: req.query.session !== 'off',
    inserted: inserted.rows[0],
    read_back: { found: seen !== null, served_by },
  })
})

// Database errors become JSON with their SQLSTATE; nothing else about the server leaks.
app.use((err, req, res, next) => {
  res.status(err.code === '22P02' ? 400 : 500).json({ error: err.message, code: err.code })
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address()
  console.log(`read-replica-manager example listening on http://127.0.0.1:${port}`)
})

// Graceful shutdown: stop accepting requests, let queries in flight finish (up to 10 s), then
// close every connection.
async function shutdown() {
  server.close()
  await closeReadReplicaManager(10_000)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
