// A process that closes the manager exits on its own: nothing the addon runs keeps Node alive.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { configs } from './helpers.mjs'

const script = `
const { initializeReadReplicaManager, getReadReplicaManager, closeReadReplicaManager } = require('read-replica-manager')
const { primaryConfig, replicaConfigs } = JSON.parse(process.env.RRM_CONFIGS)
;(async () => {
  await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 100 })
  const manager = getReadReplicaManager()
  await manager.query('SELECT 1')
  const client = await manager.getClient('write')
  await client.query('SELECT 1')
  client.release()
  await closeReadReplicaManager()
  console.log('closed')
})()
`

test('a child process exits by itself after closeReadReplicaManager()', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ['-e', script], {
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
})
