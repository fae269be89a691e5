// initializeReadReplicaManagerFromEnv: the guide's variables (docs/guide.md, "Environment
// Configuration"), and clear errors for bad ones.

import assert from 'node:assert/strict'
import { afterEach, test } from 'node:test'
import { closeReadReplicaManager, initializeReadReplicaManagerFromEnv } from 'read-replica-manager'
import { clusterEnv, PASSWORD, REPLICA_PORTS } from './helpers.mjs'

const saved = { ...process.env }
const VARS = [
  'DATABASE_URL',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'DB_REPLICAS',
  'DB_POOL_MAX',
  'REPLICA_HEALTH_CHECK_INTERVAL',
]

function setEnv(vars) {
  for (const v of VARS) delete process.env[v]
  Object.assign(process.env, vars)
}

afterEach(async () => {
  await closeReadReplicaManager()
  for (const v of VARS) delete process.env[v]
  Object.assign(process.env, Object.fromEntries(VARS.filter((v) => v in saved).map((v) => [v, saved[v]])))
})

test("the guide's variables initialize the manager", async () => {
  setEnv({ ...clusterEnv(), REPLICA_HEALTH_CHECK_INTERVAL: '1000', DB_POOL_MAX: '4' })
  const manager = await initializeReadReplicaManagerFromEnv()
  const status = manager.getReplicaStatus()
  assert.deepEqual(
    Object.values(status).map((s) => s.port),
    REPLICA_PORTS,
  )
  assert.ok(Object.values(status).every((s) => s.healthy))
  assert.equal((await manager.query('SELECT 1 AS one')).rows[0].one, 1)
})

test('DATABASE_URL and connection strings in DB_REPLICAS work too', async () => {
  const env = clusterEnv()
  const url = (port) => `postgres://${env.DB_USER}:${env.DB_PASSWORD}@${env.DB_HOST}:${port}/${env.DB_NAME}`
  setEnv({ DATABASE_URL: url(env.DB_PORT), DB_REPLICAS: JSON.stringify(REPLICA_PORTS.map(url)) })
  const manager = await initializeReadReplicaManagerFromEnv()
  assert.equal(Object.keys(manager.getReplicaStatus()).length, 2)
  assert.equal((await manager.query('SELECT 1 AS one')).rows[0].one, 1)
})

test('bad variables reject naming the variable, never echoing a password', async () => {
  const env = clusterEnv()
  const cases = [
    [{ ...env, DB_HOST: '' }, /DB_HOST is required/],
    [{ ...env, DB_PORT: 'abc' }, /DB_PORT must be a port number.*"abc"/],
    [{ ...env, DB_REPLICAS: `[{"host":"r","password":"${PASSWORD}",}]` }, /DB_REPLICAS is not valid JSON/],
    [{ ...env, DB_REPLICAS: '{"host":"r"}' }, /DB_REPLICAS must be a JSON array/],
    [{ ...env, DB_REPLICAS: '[42]' }, /DB_REPLICAS\[0\] must be a config object or a connection string/],
    [{ ...env, DB_POOL_MAX: 'many' }, /DB_POOL_MAX/],
    [{ ...env, REPLICA_HEALTH_CHECK_INTERVAL: '30s' }, /REPLICA_HEALTH_CHECK_INTERVAL/],
  ]
  for (const [vars, message] of cases) {
    setEnv(vars)
    const err = await initializeReadReplicaManagerFromEnv().then(
      () => assert.fail(`expected ${message}`),
      (e) => e,
    )
    assert.match(err.message, message)
    assert.ok(!err.message.includes(PASSWORD), err.message)
  }
})
