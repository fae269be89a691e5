// The package loads both ways a user writes it: require() and ESM named imports.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from 'read-replica-manager'

const require = createRequire(import.meta.url)

test('require() and import give the same API', () => {
  const cjs = require('read-replica-manager')
  for (const name of ['initializeReadReplicaManager', 'getReadReplicaManager', 'closeReadReplicaManager']) {
    assert.equal(typeof esm[name], 'function', `ESM ${name}`)
    assert.equal(esm[name], cjs[name], `${name} is the same function`)
  }
})
