'use strict'
// Node helpers over scripts/cluster.sh, shared by the test runner, the demo and the tests.

const { execFileSync } = require('node:child_process')
const path = require('node:path')

const script = path.join(__dirname, 'cluster.sh')

/** Runs `cluster.sh <args>` and returns its output. */
function cluster(...args) {
  return execFileSync('bash', [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

/** Node name → { port, running } from `cluster.sh status`. */
function clusterStatus() {
  const nodes = {}
  for (const line of cluster('status').split('\n').filter(Boolean)) {
    const [name, port, state] = line.split(' ')
    nodes[name] = { port: Number(port.split('=')[1]), running: state === 'running' }
  }
  return nodes
}

/** The guide's DB_* variables (docs/guide.md, "Environment Configuration") for the local cluster. */
function clusterEnv() {
  const env = {}
  for (const line of cluster('env').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line)
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1')
  }
  return env
}

/** Starts primary + `replicas` replicas unless they all run already; true when it started any. */
function ensureCluster(replicas = 2) {
  const nodes = clusterStatus()
  const wanted = ['primary', ...Array.from({ length: replicas }, (_, i) => `replica_${i}`)]
  if (wanted.every((n) => nodes[n]?.running)) return false
  process.stdout.write(cluster('start', String(replicas)))
  return true
}

module.exports = { cluster, clusterStatus, clusterEnv, ensureCluster }
