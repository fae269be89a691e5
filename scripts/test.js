'use strict'
// `npm test`: builds the addon if needed, runs the Rust tests and the TypeScript check, starts
// the local cluster if it is not running, runs the integration tests against it, and stops what
// it started.

const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { ensureBuilt } = require('./ensure-built')
const { cluster, ensureCluster } = require('./cluster')

const root = path.resolve(__dirname, '..')
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status

ensureBuilt()
let status = run('cargo', ['test', '--workspace', '--quiet'])
// The types: the guide's samples compile under --strict, misuse does not.
if (status === 0) status = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '__test__/types'])
if (status === 0) {
  const started = ensureCluster(2)
  try {
    const files = process.argv.slice(2)
    status = run(process.execPath, ['--test', '--test-concurrency=1', ...(files.length ? files : ['__test__/'])])
  } finally {
    if (started) cluster('stop')
  }
}
process.exit(status ?? 1)
