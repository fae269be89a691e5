'use strict'
// sampler: what the dashboard shows — every member in one list, a history of samples over the last
// 15 minutes (the rates are drawn from it), and the JSON the page polls. Pure: it reads a manager
// it is given and never loads the native binding.

/** How often the sampler looks, and how far back it remembers. */
const SAMPLE_INTERVAL_MS = 2000
const HISTORY_WINDOW_MS = 15 * 60_000
/** Rows of the top statements table. */
const STATEMENT_LIMIT = 10

const nullable = (value) => (value === undefined ? null : value)

/** `primary` first, then `replica_0`, `replica_1`, … by number: cards keep their place through role changes. */
function memberOrder(a, b) {
  const rank = (name) => {
    if (name === 'primary') return [0, 0]
    const m = /^replica_(\d+)$/.exec(name)
    return m ? [1, Number(m[1])] : [2, 0]
  }
  const [ga, na] = rank(a.name)
  const [gb, nb] = rank(b.name)
  return ga - gb || na - nb || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}

/**
 * A member as getReplicaStatus() reports it (or getMetrics().primary, for the writer): one shape
 * for all, a field its source lacks (the writer's lag, say) null.
 */
function fromStatus(name, s, writer) {
  return {
    name,
    host: nullable(s.host),
    port: nullable(s.port),
    role: nullable(s.role),
    writer,
    healthy: nullable(s.healthy),
    eligible: nullable(s.eligible),
    lagging: nullable(s.lagging),
    fenced: nullable(s.fenced),
    replicationLagMs: nullable(s.replicationLagMs),
    replicationLagBytes: nullable(s.replicationLagBytes),
    responseTime: nullable(s.responseTime),
    failureCount: nullable(s.failureCount),
    lastHealthCheck: nullable(s.lastHealthCheck),
    queries: nullable(s.queries),
  }
}

/**
 * Every member: those getReplicaStatus() lists, plus the writer getMetrics().primary names when
 * the status leaves it out (the member `primary`, while it takes the writes). While no member is
 * primary that entry is gone from both, so the writer last seen (`lastWriter`, from the sampler)
 * stands in, unreachable, rather than vanish from the page.
 * @param {Record<string, object>} status getReplicaStatus()
 * @param {object} primary getMetrics().primary
 * @param {{ name, host, port, lastHealthCheck } | null} lastWriter
 */
function listMembers(status, primary, lastWriter = null) {
  const writerName = primary.name
  const members = Object.entries(status).map(([name, s]) => fromStatus(name, s, name === writerName))
  const listed = (name) => members.some((m) => m.name === name)
  if (writerName !== null && !listed(writerName)) {
    members.push({
      ...fromStatus(writerName, primary, true),
      healthy: primary.reachable,
      // The writer takes no reads, and lag is a standby's.
      eligible: false,
      lagging: false,
      fenced: false,
    })
  } else if (writerName === null && lastWriter && !listed(lastWriter.name)) {
    members.push({
      ...fromStatus(lastWriter.name, {}, false),
      host: lastWriter.host,
      port: lastWriter.port,
      lastHealthCheck: lastWriter.lastHealthCheck,
      healthy: false,
      eligible: false,
      lagging: false,
      fenced: false,
    })
  }
  return members.sort(memberOrder)
}

/** One point of history at time `t` (ms): the cluster's counters and each member's. */
function takeSample(t, members, metrics) {
  const sample = { t, readQueries: metrics.readQueries, writeQueries: metrics.writeQueries, members: {} }
  for (const m of members) sample.members[m.name] = { queries: m.queries, healthy: m.healthy }
  return sample
}

/** Drops, in place, the samples older than `windowMs` before `now`. */
function trimHistory(history, now, windowMs = HISTORY_WINDOW_MS) {
  const cutoff = now - windowMs
  let keep = 0
  while (keep < history.length && history[keep].t < cutoff) keep++
  if (keep > 0) history.splice(0, keep)
  return history
}

/**
 * Samples one manager at a time: every `intervalMs` while `getManager()` gives one (it returns
 * null while none is initialized), keeping `windowMs` of history. A different manager instance
 * starts a new history (a new `id`).
 */
class Sampler {
  #getManager
  #intervalMs
  #windowMs
  #now
  #timer = null
  /** WeakRef to the manager the history is of: a closed one is not kept alive. */
  #manager = null
  #resets = 0
  id = null
  history = []
  /** The writer last seen: `{ name, host, port, lastHealthCheck }`, standing in while none is. */
  lastWriter = null

  constructor({ getManager, intervalMs = SAMPLE_INTERVAL_MS, windowMs = HISTORY_WINDOW_MS, now = Date.now }) {
    this.#getManager = getManager
    this.#intervalMs = intervalMs
    this.#windowMs = windowMs
    this.#now = now
  }

  get intervalMs() {
    return this.#intervalMs
  }

  get windowMs() {
    return this.#windowMs
  }

  /** Samples every interval from now on; the timer never keeps the process alive. */
  start() {
    if (this.#timer) return
    this.#timer = setInterval(() => this.sample(), this.#intervalMs)
    this.#timer.unref()
  }

  stop() {
    clearInterval(this.#timer)
    this.#timer = null
  }

  /** Starts a new history when `manager` is not the one sampled so far. */
  follow(manager) {
    if (this.#manager?.deref() === manager) return
    this.#manager = new WeakRef(manager)
    this.id = `${this.#now().toString(36)}.${++this.#resets}`
    this.history = []
    this.lastWriter = null
  }

  /** Samples the current manager, if any. Never throws: it runs on a timer in the app's process. */
  sample() {
    let manager
    try {
      manager = this.#getManager()
    } catch {}
    return manager ? this.sampleOf(manager) : null
  }

  /** Samples `manager` (following it). Never throws; null when the manager could not answer. */
  sampleOf(manager) {
    try {
      this.follow(manager)
      return this.record(manager.getReplicaStatus(), manager.getMetrics())
    } catch {
      return null
    }
  }

  /** Adds a sample of this status and these metrics (of the manager followed). */
  record(status, metrics, t = this.#now()) {
    const { primary } = metrics
    const members = listMembers(status, primary, this.lastWriter)
    if (primary.name) {
      const { name, host, port, lastHealthCheck } = primary
      this.lastWriter = { name, host, port, lastHealthCheck }
    }
    const sample = takeSample(t, members, metrics)
    this.history.push(sample)
    trimHistory(this.history, t, this.#windowMs)
    return sample
  }

  /** The samples after time `since` (ms), or all. */
  since(since) {
    if (!Number.isFinite(since)) return this.history
    let i = this.history.length
    while (i > 0 && this.history[i - 1].t > since) i--
    return this.history.slice(i)
  }
}

/**
 * The JSON the page polls: the members, the counters, the history, the manager's recent events
 * and its top statements. `since` and `historyId` (from the page's last answer) ask for the
 * samples after `since` only, when the history is still the same one.
 */
function snapshot(manager, sampler, { since = null, historyId = null, now = Date.now() } = {}) {
  // The first request after a (re)start need not wait an interval for a first sample.
  sampler.follow(manager)
  if (sampler.history.length === 0) sampler.sampleOf(manager)
  const metrics = manager.getMetrics()
  const members = listMembers(manager.getReplicaStatus(), metrics.primary, sampler.lastWriter)
  const { replicaStatus, ...counters } = metrics
  return {
    status: 'ok',
    generatedAt: new Date(now).toISOString(),
    intervalMs: sampler.intervalMs,
    windowMs: sampler.windowMs,
    historyId: sampler.id,
    members,
    metrics: counters,
    history: historyId === sampler.id ? sampler.since(since) : sampler.history,
    events: manager.getRecentEvents(),
    statements: manager.getQueryStats({ limit: STATEMENT_LIMIT }),
  }
}

module.exports = {
  HISTORY_WINDOW_MS,
  SAMPLE_INTERVAL_MS,
  Sampler,
  listMembers,
  snapshot,
  takeSample,
  trimHistory,
}
