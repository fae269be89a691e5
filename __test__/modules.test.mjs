// The package loads both ways a user writes it: require() and ESM named imports.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { closeReadReplicaManager, getReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'

const require = createRequire(import.meta.url)

test('require() and import give the same API', () => {
  const cjs = require('read-replica-manager')
  const esm = { initializeReadReplicaManager, getReadReplicaManager, closeReadReplicaManager }
  for (const [name, fn] of Object.entries(esm)) {
    assert.equal(typeof fn, 'function', `ESM ${name}`)
    assert.equal(fn, cjs[name], `${name} is the same function`)
  }
})
