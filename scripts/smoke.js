'use strict'
// The release's check of each built binary on its own platform and Node version
// (.github/workflows/release.yml), and .ci/run's on Node 22 and 24: the package loads its addon
// and the Rust router answers. No database needed.

const { classifyQuery } = require('..')

const read = classifyQuery('SELECT 1')
const write = classifyQuery('INSERT INTO t VALUES (1)')
if (read.route !== 'replica' || write.route !== 'primary') {
  console.error('read-replica-manager smoke test: unexpected routes', { read, write })
  process.exit(1)
}
console.log(
  `read-replica-manager: the addon loads on ${process.platform}-${process.arch}, ` +
    `Node.js ${process.version} (Node-API ${process.versions.napi})`,
)
