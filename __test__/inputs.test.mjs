// Bad input is the caller's fault, never a server's: each kind is rejected with a clear code and
// message, is not retried elsewhere, and leaves every health and failover counter where it was.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
let manager

before(async () => {
  // No background checks during the test: the counters move only if a query moves them.
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs, { healthCheckInterval: 3_600_000 })
})

after(() => closeReadReplicaManager())

/** Everything that says a server failed: global counters, and each member's own. */
function health() {
  const metrics = manager.getMetrics()
  return {
    replicaFailovers: metrics.replicaFailovers,
    healthCheckFailures: metrics.healthCheckFailures,
    misroutedReads: metrics.misroutedReads,
    members: Object.fromEntries(
      Object.entries(metrics.replicaStatus).map(([key, s]) => [key, { healthy: s.healthy, failures: s.failureCount }]),
    ),
    primary: { name: metrics.primary.name, reachable: metrics.primary.reachable },
  }
}

const many = (n) => Array.from({ length: n }, (_, i) => i)

// [what, run, expected { code, name?, message }]
const cases = [
  [
    'a NUL byte in the text',
    () => manager.query('SELECT 1 /* \0 */'),
    { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' },
  ],
  [
    'a NUL byte in a write',
    () => manager.query('INSERT INTO nowhere VALUES (1) -- \0'),
    { code: 'ERR_INVALID_ARG_VALUE' },
  ],
  ['a NUL byte in a text value', () => manager.query('SELECT $1::text', ['a\0b']), { code: '22021' }],
  ['too few values', () => manager.query('SELECT $1::int, $2::int', [1]), { code: '08P01' }],
  ['values for a text without placeholders', () => manager.query('SELECT 1', [1, 2]), { code: '08P01' }],
  [
    'more values than the protocol carries',
    () =>
      manager.query(
        `SELECT ${many(70_000)
          .map((i) => `$${i + 1}`)
          .join(' + ')}`,
        many(70_000),
      ),
    { codeOneOf: ['ERR_INVALID_ARG_VALUE', '54000', '54001', '54011'] },
  ],
  ['a value its type cannot read', () => manager.query('SELECT $1::int', ['abc']), { code: '22P02' }],
  ['a syntax error', () => manager.query('SELEC 1'), { code: '42601' }],
  ['an unknown table', () => manager.query('SELECT * FROM rrm_no_such_table'), { code: '42P01' }],
  ['transaction control', () => manager.query('BEGIN'), { code: 'ERR_RRM_TRANSACTION_CONTROL' }],
  ['COPY from the client', () => manager.query('COPY rrm_x FROM STDIN'), { code: 'ERR_RRM_UNSUPPORTED' }],
  ['a bad route', () => manager.query('SELECT 1', [], { route: 'somewhere' }), { code: 'ERR_INVALID_ARG_TYPE' }],
  ['a value JSON cannot hold', () => manager.query('SELECT $1::jsonb', [{ big: 1n }]), { name: 'TypeError' }],
  [
    'a NUL byte on a dedicated client',
    async () => {
      const client = await manager.getClient('read')
      try {
        return await client.query('SELECT 2 -- \0')
      } finally {
        client.release()
      }
    },
    { code: 'ERR_INVALID_ARG_VALUE' },
  ],
]

test("every kind of bad input is rejected as the caller's, and no server is blamed", async (t) => {
  const baseline = health()
  for (const [what, run, expected] of cases) {
    const err = await run().then(
      () => null,
      (e) => e,
    )
    assert.ok(err instanceof Error, `${what}: rejected`)
    if (expected.code) assert.equal(err.code, expected.code, `${what}: ${err.message}`)
    if (expected.codeOneOf) assert.ok(expected.codeOneOf.includes(err.code), `${what}: ${err.code} ${err.message}`)
    if (expected.name) assert.equal(err.name, expected.name, what)
    assert.doesNotMatch(err.message, /ECONNRESET|connection to .* failed/, `${what}: not a network error`)
    assert.deepEqual(health(), baseline, `${what}: no health or failover counter moved`)
    t.diagnostic(`${what}: ${err.code} ${err.message.slice(0, 100)}`)
  }
  // The manager still works, on the replicas, as before.
  const { rows } = await manager.query('SELECT 1 AS one')
  assert.equal(rows[0].one, 1)
})
