'use strict'
// express: handlers for Express (or any req/res framework with res.status().json() /
// res.type().send()): the guide's /health/replicas route (docs/guide.md, "Health Check
// Endpoint") and a Prometheus /metrics route. Both look the manager up per request, so they can
// be mounted before it is initialized.

const { getReadReplicaManager } = require('./singleton')

/**
 * The guide's `/health/replicas` response: `{ status: 'ok', replicas, metrics }`. With
 * `{ strict: true }` it answers 503 with `status: 'degraded'` when the primary is unreachable or
 * no replica can serve reads, for load balancers and readiness probes.
 */
function healthCheckHandler({ strict = false } = {}) {
  return function health(req, res) {
    let manager
    try {
      manager = getReadReplicaManager()
    } catch (err) {
      return res.status(503).json({ status: 'unavailable', error: err.message })
    }
    const replicas = manager.getReplicaStatus()
    const metrics = manager.getMetrics()
    const replicaList = Object.values(replicas)
    const degraded =
      metrics.primary.reachable === false || (replicaList.length > 0 && !replicaList.some((r) => r.eligible))
    if (strict && degraded) {
      return res.status(503).json({ status: 'degraded', replicas, metrics })
    }
    res.json({ status: 'ok', replicas, metrics })
  }
}

/** `/metrics` in Prometheus's text exposition format. */
function metricsHandler() {
  return function metrics(req, res) {
    let manager
    try {
      manager = getReadReplicaManager()
    } catch (err) {
      return res.status(503).type('text/plain').send(`# ${err.message}\n`)
    }
    res.type('text/plain; version=0.0.4; charset=utf-8').send(manager.getPrometheusMetrics())
  }
}

module.exports = { healthCheckHandler, metricsHandler }
