'use strict'
// Node helpers over scripts/ha-cluster.sh (etcd + 3 Patroni members), shared by the HA tests and
// the failover benchmark.

const { execFile, execFileSync } = require('node:child_process')
const path = require('node:path')

const script = path.join(__dirname, 'ha-cluster.sh')

/** The credentials ha-cluster.sh creates (the same as cluster.sh's: a local test cluster). */
const credentials = { host: '127.0.0.1', database: 'rrm', user: 'rrm', password: 'rrm_local_password' }

/** Runs `ha-cluster.sh <args>` and returns its standard output (its progress goes to stderr). */
function haCluster(...args) {
  return execFileSync('bash', [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

/**
 * As haCluster, without blocking the event loop: for the events a test or bench makes while its
 * own load keeps running (switchover, kill-leader, rejoin).
 */
function haClusterAsync(...args) {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', [script, ...args], { encoding: 'utf8' }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    )
    child.stderr.pipe(process.stderr)
  })
}

/** `[{ name: 'pg0', port: 25432 }, …]`: every member, whatever its role. */
function haMembers() {
  return JSON.parse(haCluster('members')).map(({ name, port }) => ({ name, port }))
}

/** `name port` (the last line of wait-leader) as `{ name, port }`. */
function leaderOf(output) {
  const [name, port] = output.trim().split(/\s+/).slice(-2)
  return { name, port: Number(port) }
}

/** The live leader as `{ name, port }`, waiting up to `seconds` for one. */
function haLeader(seconds = 90) {
  return leaderOf(haCluster('wait-leader', String(seconds)))
}

/** As haLeader, without blocking the event loop (after a crash, while load runs). */
async function haLeaderAsync(seconds = 90) {
  return leaderOf(await haClusterAsync('wait-leader', String(seconds)))
}

/** Whether every member runs with a leader and two streaming replicas. */
function haHealthy() {
  const lines = haCluster('status').trim().split('\n')
  return lines.length === 3 && lines.every((l) => /state=(running|streaming)/.test(l))
}

/** Starts the HA cluster unless it is healthy already; true when it started it. */
function ensureHaCluster() {
  if (haHealthy()) return false
  haCluster('start')
  return true
}

module.exports = {
  credentials,
  haCluster,
  haClusterAsync,
  haMembers,
  haLeader,
  haLeaderAsync,
  haHealthy,
  ensureHaCluster,
}
