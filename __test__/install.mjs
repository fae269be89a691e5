// Shared by package.test.mjs and release.test.mjs: a fresh Express project that installs
// read-replica-manager from tarballs as a user would, with no Rust (no `cargo` on PATH), and runs
// the guide's samples (docs/guide.md) against the local cluster under the Node running the tests.

import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { clusterEnv } from './helpers.mjs'

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
    prometheus: manager.getPrometheusMetrics().includes('rrm_read_queries_total'), node: process.version }));
  server.close();
  await closeReadReplicaManager();
});
`

/** What the guide's app prints when it ran: the route answered, both replicas listed, on this Node. */
export const GUIDE_RAN = {
  status: 'ok',
  replicas: ['replica_0', 'replica_1'],
  rows: true,
  prometheus: true,
  node: process.version,
}

/** process.env without the PATH folders that hold a `cargo`: checked to find no cargo, but npm. */
export function envWithoutCargo() {
  const dirs = process.env.PATH.split(path.delimiter).filter((d) => d && !existsSync(path.join(d, 'cargo')))
  const { CARGO, CARGO_HOME, RUSTUP_HOME, RUSTUP_TOOLCHAIN, ...env } = process.env
  env.PATH = dirs.join(path.delimiter)
  assert.equal(spawnSync('cargo', ['--version'], { env }).error?.code, 'ENOENT', 'no cargo on PATH')
  assert.equal(spawnSync('npm', ['--version'], { env }).status, 0, 'npm is still on PATH')
  return env
}

/**
 * Makes `<dir>/app` (package.json only), installs `tarballs` and express@5 into it with no cargo
 * on PATH, and runs the guide's app there; returns the app's folder and what it printed.
 */
export function installAndRunGuide(dir, tarballs) {
  const env = envWithoutCargo()
  const app = path.join(dir, 'app')
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'guide-app', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, 'express@5'], {
    cwd: app,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  writeFileSync(path.join(app, 'server.mjs'), GUIDE_APP)
  const out = execFileSync(process.execPath, ['server.mjs'], {
    cwd: app,
    env: { ...env, ...clusterEnv() },
    encoding: 'utf8',
  })
  return { app, ran: JSON.parse(out.trim().split('\n').pop()) }
}
