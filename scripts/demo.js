'use strict'
// `npm run demo`: starts a local primary + 2 streaming replicas, then the example Express app
// with the guide's DB_* variables (docs/guide.md), prints its URL, its dashboard's URL and a
// sample /health/replicas response, and on Ctrl-C stops the app and the cluster.

const { spawn } = require('node:child_process')
const path = require('node:path')
const { ensureBuilt } = require('./ensure-built')
const { cluster, clusterEnv, ensureCluster } = require('./cluster')

const root = path.resolve(__dirname, '..')

ensureBuilt()
const startedCluster = ensureCluster(2)
const env = { ...process.env, ...clusterEnv(), PORT: process.env.PORT ?? '3000' }

const app = spawn(process.execPath, [path.join(root, 'examples/express/server.mjs')], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
})

let stopping = false
function stop(code) {
  if (stopping) return
  stopping = true
  app.kill('SIGTERM')
  const finish = () => {
    if (startedCluster) {
      console.log('stopping the local cluster…')
      cluster('stop')
    }
    process.exit(code)
  }
  if (app.exitCode !== null || app.signalCode !== null) finish()
  else app.once('exit', finish)
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))
app.on('exit', (code) => {
  if (!stopping) {
    console.error(`the example app exited (${code})`)
    stop(code || 1)
  }
})

let printed = false
app.stdout.on('data', async (chunk) => {
  process.stdout.write(chunk)
  const m = /listening on (http:\S+)/.exec(String(chunk))
  if (!m || printed) return
  printed = true
  const url = m[1]
  try {
    const res = await fetch(`${url}/health/replicas`)
    console.log(`\nGET ${url}/health/replicas →`)
    console.log(JSON.stringify(await res.json(), null, 2))
    const post = `curl -X POST -H 'content-type: application/json' -d '{"name":"ada"}'`
    console.log('\nRead after write, without a session (the read may miss the row) and in one (it never does):')
    console.log(`      ${post} '${url}/users/write-then-read?session=off'`)
    console.log(`      ${post} ${url}/users/write-then-read`)
    console.log(`\nTry:  curl ${url}/health/replicas`)
    console.log(`      ${post} ${url}/users`)
    console.log(`      curl ${url}/users/1`)
    console.log(`      curl ${url}/ready      # 503 when the primary is unreachable or no replica can serve reads`)
    console.log(`      curl ${url}/metrics    # Prometheus`)
    console.log(`\nDashboard: ${url}/dashboard`)
    console.log('Ctrl-C stops the app and the cluster.')
  } catch (err) {
    console.error('could not reach the example app:', err.message)
  }
})
