// Every code sample of the user's guide (docs/guide.md), run unchanged (only the import path
// replaced), and the example Express app over real HTTP.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { closeReadReplicaManager, getReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { clusterEnv, PASSWORD, REPLICA_PORTS, replicated } from './helpers.mjs'

after(() => closeReadReplicaManager())

test("the guide's samples run unchanged", { timeout: 60_000 }, async () => {
  Object.assign(process.env, clusterEnv())

  // Initialize Read Replica Manager
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
  assert.ok(replicaManager)

  {
    const m = getReadReplicaManager()
    await m.query('CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, name text)')
    await replicated(m) // the guide's reads below go to replicas
  }
  const userId = 1
  const userName = 'guide-user'
  const name = 'guide-tx-user'

  // Execute Queries with Automatic Routing
  // biome-ignore format: the guide's sample (docs/guide.md), verbatim
  {
    const manager = getReadReplicaManager();

    // Read query - automatically routed to replica
    const result = await manager.query('SELECT * FROM users WHERE id = $1', [userId]);

    // Write query - automatically routed to primary
    await manager.query('INSERT INTO users (name) VALUES ($1)', [userName]);
    assert.ok(Array.isArray(result.rows))
  }

  // Get Replica Status
  // biome-ignore format: the guide's sample (docs/guide.md), verbatim
  {
    const manager = getReadReplicaManager();

    // Get status of all replicas
    const status = manager.getReplicaStatus();
    // The guide's keys, in its order; later keys are additions.
    assert.deepEqual(Object.keys(status.replica_0).slice(0, 7), [
      'host', 'port', 'database', 'healthy', 'lastHealthCheck', 'failureCount', 'responseTime',
    ])
    assert.equal(status.replica_0.healthy, true)
    assert.equal(status.replica_1.healthy, true)
  }

  // Get Metrics
  // biome-ignore format: the guide's sample (docs/guide.md), verbatim
  {
    const manager = getReadReplicaManager();

    // Get metrics
    const metrics = manager.getMetrics();
    // The guide's keys, in the guide's order; later keys are additions.
    assert.deepEqual(Object.keys(metrics).slice(0, 6), [
      'readQueries', 'writeQueries', 'replicaFailovers', 'healthCheckFailures', 'replicaCount', 'replicaStatus',
    ])
    assert.ok(metrics.readQueries >= 1 && metrics.writeQueries >= 2)
  }

  // Get Client for Transactions
  // biome-ignore format: the guide's sample (docs/guide.md), verbatim
  {
    const manager = getReadReplicaManager();

    // Get read client (from replica)
    const readClient = await manager.getClient('read');
    try {
      const result = await readClient.query('SELECT * FROM users');
      // Use result
      assert.ok(Array.isArray(result.rows))
    } finally {
      readClient.release();
    }

    // Get write client (from primary)
    const writeClient = await manager.getClient('write');
    try {
      await writeClient.query('BEGIN');
      await writeClient.query('INSERT INTO users (name) VALUES ($1)', [name]);
      await writeClient.query('COMMIT');
    } catch (error) {
      await writeClient.query('ROLLBACK');
      throw error;
    } finally {
      writeClient.release();
    }
  }

  // Health Check Endpoint, in an Express app of the test's own, over HTTP
  const app = express()
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
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}/health/replicas`)
    assert.equal(res.status, 200)
    const body = await res.json()
    assert.equal(body.status, 'ok')
    assert.equal(body.replicas.replica_0.healthy, true)
    assert.equal(body.metrics.replicaCount, 2)
    assert.ok(!JSON.stringify(body).includes(PASSWORD))
  } finally {
    server.close()
  }
  await closeReadReplicaManager()
})

test('the example Express app serves /health/replicas, a read and a write', { timeout: 60_000 }, async () => {
  const app = spawn(process.execPath, ['examples/express/server.mjs'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, ...clusterEnv(), PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    let out = ''
    const url = await new Promise((resolve, reject) => {
      app.stdout.on('data', (d) => {
        out += d
        const m = /listening on (http:\S+)/.exec(out)
        if (m) resolve(m[1])
      })
      app.once('exit', (code) => reject(new Error(`example exited early with ${code}: ${out}`)))
    })

    const health = await (await fetch(`${url}/health/replicas`)).json()
    assert.equal(health.status, 'ok')
    assert.deepEqual(Object.keys(health.replicas), ['replica_0', 'replica_1'])
    assert.ok(Object.values(health.replicas).every((r) => r.healthy))

    const created = await fetch(`${url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from-http' }),
    })
    assert.equal(created.status, 201)
    const user = await created.json()
    assert.equal(user.name, 'from-http')

    // The write landed on the primary; the read is served by a replica once it has replayed it.
    let read
    for (let i = 0; i < 100; i++) {
      read = await fetch(`${url}/users/${user.id}`)
      if (read.status === 200) break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(read.status, 200)
    const body = await read.json()
    assert.equal(body.name, 'from-http')
    assert.ok(REPLICA_PORTS.includes(body.served_by))
    assert.notEqual(body.served_by, user.served_by)

    assert.equal((await fetch(`${url}/ready`)).status, 200)
    const metrics = await fetch(`${url}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(await metrics.text(), /^rrm_read_queries_total \d+$/m)

    const bad = await fetch(`${url}/users/not-a-number`)
    assert.equal(bad.status, 400)
    assert.equal((await bad.json()).code, '22P02')
  } finally {
    app.kill('SIGTERM')
    await once(app, 'exit')
  }
})
