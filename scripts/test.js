'use strict'
// `npm test`: runs the unit tests first (no database, no addon: they fail fast, in seconds), then
// builds the addon if needed, runs the Rust tests and the TypeScript check, starts the local
// cluster if it is not running, runs the integration tests against it, and stops what it started.
// `npm test -- __test__/api.test.mjs …` runs only the integration files given.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { ensureBuilt } = require('./ensure-built')
const { cluster, ensureCluster } = require('./cluster')

const root = path.resolve(__dirname, '..')
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status

/** The `*.test.mjs` files of `dir`, sorted: named one by one, since Node ≥ 22 runs no folder given to --test. */
const tests = (dir) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.test.mjs'))
    .sort()
    .map((f) => path.join(dir, f))

/**
 * The integration tests: `__test__/*.test.mjs`, then the ORM matrix `__test__/orm/*.test.mjs`
 * (not __test__/unit/, which ran first).
 */
function integrationTests() {
  return [...tests('__test__'), ...tests(path.join('__test__', 'orm'))]
}

let status = run(process.execPath, ['--test', ...tests(path.join('__test__', 'unit'))])
if (status === 0) {
  ensureBuilt()
  status = run('cargo', ['test', '--workspace', '--quiet'])
}
// The types: the guide's samples (docs/guide.md) compile under --strict, misuse does not.
if (status === 0) status = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '__test__/types'])
if (status === 0) {
  const started = ensureCluster(2)
  try {
    const files = process.argv.slice(2)
    status = run(process.execPath, ['--test', '--test-concurrency=1', ...(files.length ? files : integrationTests())])
  } finally {
    if (started) cluster('stop')
  }
}
process.exit(status ?? 1)
