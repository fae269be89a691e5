// A process that closes the manager exits on its own: nothing the addon runs keeps Node alive.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { configs } from './helpers.mjs'

/** A script that uses the manager and closes it; `setup` turns the configs into its arguments. */
const script = (setup) => `
const { initializeReadReplicaManager, getReadReplicaManager, closeReadReplicaManager } = require('read-replica-manager')
const { primaryConfig, replicaConfigs } = JSON.parse(process.env.RRM_CONFIGS)
;(async () => {
  await initializeReadReplicaManager(...(${setup})(primaryConfig, replicaConfigs))
  const manager = getReadReplicaManager()
  await manager.query('SELECT 1')
  const client = await manager.getClient('write')
  await client.query('SELECT 1')
  client.release()
  await closeReadReplicaManager()
  console.log('closed')
})()
`

/** Runs `source` in a child process and checks that it exits by itself, having closed the manager. */
async function exitsByItself(source) {
  const child = spawn(process.execPath, ['-e', source], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, RRM_CONFIGS: JSON.stringify(configs()) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  // If the process never exits, the test's own timeout fails it.
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))
  assert.equal(signal, null)
  assert.equal(code, 0)
  assert.equal(out.trim(), 'closed')
}

test('a child process exits by itself after closeReadReplicaManager()', { timeout: 60_000 }, async () => {
  await exitsByItself(script(`(primary, replicas) => [primary, replicas, { healthCheckInterval: 100 }]`))
})

test('password functions keep nothing alive, not even one that never answers', { timeout: 60_000 }, async () => {
  await exitsByItself(
    script(`(primary, [first, second]) => [
      { ...primary, password: async () => primary.password },
      [{ ...first, password: () => first.password }, { ...second, password: () => new Promise(() => {}) }],
      { healthCheckInterval: 100, healthCheckTimeout: 200 },
    ]`),
  )
})
