// The packed tarball installs into a fresh project with Express and runs the guide's samples
// (docs/guide.md).

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { clusterEnv } from './helpers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

const GUIDE_APP = `
import express from 'express'
import {
  initializeReadReplicaManager, getReadReplicaManager, closeReadReplicaManager,
} from 'read-replica-manager'

const primaryConfig = {
  host: process.env.DB_HOST,
  port: parseInt(process.env.DB_PORT),
  database: process.env.DB_NAME,
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,
};
const replicaConfigs = process.env.DB_REPLICAS ? JSON.parse(process.env.DB_REPLICAS) : [];
const replicaManager = await initializeReadReplicaManager(primaryConfig, replicaConfigs);

const manager = getReadReplicaManager();
await manager.query('CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, name text)');
const result = await manager.query('SELECT * FROM users WHERE id = $1', [1]);
await manager.query('INSERT INTO users (name) VALUES ($1)', ['from-tarball']);
const writeClient = await manager.getClient('write');
try {
  await writeClient.query('BEGIN');
  await writeClient.query('INSERT INTO users (name) VALUES ($1)', ['tx']);
  await writeClient.query('COMMIT');
} catch (error) {
  await writeClient.query('ROLLBACK');
  throw error;
} finally {
  writeClient.release();
}

const app = express();
app.get('/health/replicas', (req, res) => {
  const manager = getReadReplicaManager();
  const status = manager.getReplicaStatus();
  const metrics = manager.getMetrics();
  res.json({ status: 'ok', replicas: status, metrics: metrics });
});
const server = app.listen(0, '127.0.0.1', async () => {
  const body = await (await fetch('http://127.0.0.1:' + server.address().port + '/health/replicas')).json();
  console.log(JSON.stringify({ status: body.status, replicas: Object.keys(body.replicas), rows: Array.isArray(result.rows),
    prometheus: manager.getPrometheusMetrics().includes('rrm_read_queries_total') }));
  server.close();
  await closeReadReplicaManager();
});
`

test('npm pack → npm install ./read-replica-manager-<v>.tgz express → the guide runs', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rrm-pack-'))
  try {
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    const tarball = packed.trim().split('\n').pop()
    assert.match(tarball, /^read-replica-manager-\d+\.\d+\.\d+\.tgz$/)
    const app = path.join(dir, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'guide-app', private: true, type: 'module' }))
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, tarball), 'express@5'],
      {
        cwd: app,
        stdio: 'ignore',
      },
    )
    const installed = readdirSync(path.join(app, 'node_modules', 'read-replica-manager'))
    for (const file of ['index.js', 'index.d.ts', 'binding.js', 'lib', 'package.json'])
      assert.ok(installed.includes(file), file)
    assert.ok(
      installed.some((f) => f.endsWith('.node')),
      'the native addon is in the package',
    )
    writeFileSync(path.join(app, 'server.mjs'), GUIDE_APP)
    const out = execFileSync(process.execPath, ['server.mjs'], {
      cwd: app,
      env: { ...process.env, ...clusterEnv() },
      encoding: 'utf8',
    })
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), {
      status: 'ok',
      replicas: ['replica_0', 'replica_1'],
      rows: true,
      prometheus: true,
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
