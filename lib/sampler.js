'use strict'
// sampler: what the dashboard shows — every member in one list, a history of samples over the last
// 15 minutes, the events inferred from their changes, and the JSON the page polls. Pure: it reads
// a manager it is given and never loads the native binding.

/** How often the sampler looks, and how far back it remembers. */
const SAMPLE_INTERVAL_MS = 2000
const HISTORY_WINDOW_MS = 15 * 60_000
/** Inferred events kept, as many as getRecentEvents() keeps. */
const MAX_EVENTS = 100
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

/** A member as getReplicaStatus() reports it. Fields the addon does not report yet are null. */
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
 * @param {object | null} primary getMetrics().primary
 * @param {{ name, host, port, lastHealthCheck } | null} lastWriter
 */
function listMembers(status, primary, lastWriter = null) {
  const writerName = primary?.name ?? null
  const members = Object.entries(status ?? {}).map(([name, s]) => fromStatus(name, s ?? {}, name === writerName))
  const listed = (name) => members.some((m) => m.name === name)
  if (writerName !== null && !listed(writerName)) {
    members.push({
      ...fromStatus(writerName, primary, true),
      healthy: nullable(primary.reachable),
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
    })
  }
  return members.sort(memberOrder)
}

/** One point of history: the cluster's counters and each member's state at time `t` (ms). */
function takeSample(t, members, metrics) {
  const sample = {
    t,
    writer: metrics?.primary?.name ?? null,
    readQueries: nullable(metrics?.readQueries),
    writeQueries: nullable(metrics?.writeQueries),
    replicaFailovers: nullable(metrics?.replicaFailovers),
    primaryChanges: nullable(metrics?.primaryChanges),
    members: {},
  }
  for (const m of members) {
    sample.members[m.name] = {
      queries: m.queries,
      lagMs: m.replicationLagMs,
      healthy: m.healthy,
      role: m.role,
      lagging: m.lagging,
    }
  }
  return sample
}

/** How much counter `key` grew from `a` to `b`; 0 when unknown or reset. */
function growth(a, b, key) {
  const before = a[key]
  const after = b[key]
  return typeof before === 'number' && typeof after === 'number' && after > before ? after - before : 0
}

/**
 * The state changes between two samples, as events shaped like onEvent's (`{ type, level, node,
 * address, message, time }`, plus `inferred: true`): the timeline's source when the addon has no
 * getRecentEvents(). A change undone within one interval is not seen.
 * @param {Record<string, string>} addresses member name → 'host:port'
 */
function inferEvents(prev, next, addresses = {}) {
  if (!prev) return []
  const time = new Date(next.t).toISOString()
  const events = []
  const add = (type, level, node, message) =>
    events.push({
      type,
      level,
      node,
      address: node === null ? null : (addresses[node] ?? null),
      message,
      time,
      inferred: true,
    })

  for (const [name, now] of Object.entries(next.members)) {
    const before = prev.members[name]
    if (!before) continue
    // The writer's health is reported as the primary's reachability (below).
    if (before.healthy === true && now.healthy === false && prev.writer !== name) {
      add('replica-unhealthy', 'warn', name, `${name} failed its health checks: out of the read rotation`)
    }
    if (before.healthy === false && now.healthy === true && next.writer !== name) {
      add('replica-recovered', 'info', name, `${name} passes its health checks again`)
    }
    if (before.role === 'replica' && now.role === 'primary') {
      add('member-promoted', 'warn', name, `${name} left recovery: it is a primary now`)
    }
    if (before.role === 'primary' && now.role === 'replica') {
      add('member-demoted', 'warn', name, `${name} is a standby now`)
    }
    if (before.lagging === false && now.lagging === true) {
      add('replica-lagging', 'warn', name, `${name} is behind the lag limit: no reads until it catches up`)
    }
    if (before.lagging === true && now.lagging === false) {
      add('replica-caught-up', 'info', name, `${name} caught up`)
    }
  }

  const changes = growth(prev, next, 'primaryChanges')
  const moved = prev.writer !== null && next.writer !== null && prev.writer !== next.writer
  if (changes > 0 || moved) {
    const more = changes > 1 ? ` (${changes} primary changes)` : ''
    add(
      'primary-changed',
      'warn',
      next.writer,
      next.writer === null ? `the primary changed${more}` : `writes go to ${next.writer} now${more}`,
    )
  } else if (prev.writer === null && next.writer !== null) {
    add('primary-reachable', 'info', next.writer, `${next.writer} takes the writes again`)
  }
  if (prev.writer !== null && next.writer === null) {
    add('primary-unreachable', 'error', prev.writer, `no member is primary (${prev.writer} was): writes wait`)
  }

  const failovers = growth(prev, next, 'replicaFailovers')
  if (failovers > 0) {
    add('failover', 'warn', null, `${failovers} read${failovers === 1 ? '' : 's'} failed over to another member`)
  }
  return events
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
 * null while none is initialized), keeping `windowMs` of history and the events inferred from it.
 * A different manager instance starts a new history (a new `id`).
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
  events = []
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
    this.events = []
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

  /** Adds a sample of this status and these metrics (of the manager followed), with the events it implies. */
  record(status, metrics, t = this.#now()) {
    const members = listMembers(status, metrics?.primary, this.lastWriter)
    const primary = metrics?.primary
    if (primary?.name) {
      const { name, host, port, lastHealthCheck } = primary
      this.lastWriter = { name, host, port, lastHealthCheck }
    }
    const sample = takeSample(t, members, metrics)
    const addresses = Object.fromEntries(members.map((m) => [m.name, `${m.host}:${m.port}`]))
    this.events.push(...inferEvents(this.history.at(-1), sample, addresses))
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS)
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

/** Calls an optional native method: its result, or undefined when the addon lacks it or it throws. */
function optional(manager, method, ...args) {
  if (typeof manager[method] !== 'function') return undefined
  try {
    return manager[method](...args)
  } catch {
    return undefined
  }
}

/**
 * The JSON the page polls. `since` and `historyId` (from the page's last answer) ask for the
 * samples after `since` only, when the history is still the same one.
 */
function snapshot(manager, sampler, { since = null, historyId = null, now = Date.now() } = {}) {
  // The first request after a (re)start need not wait an interval for a first sample.
  sampler.follow(manager)
  if (sampler.history.length === 0) sampler.sampleOf(manager)
  const metrics = manager.getMetrics()
  const members = listMembers(manager.getReplicaStatus(), metrics.primary, sampler.lastWriter)
  const { replicaStatus, ...counters } = metrics
  const recent = optional(manager, 'getRecentEvents')
  const statements = optional(manager, 'getQueryStats', { limit: STATEMENT_LIMIT })
  return {
    status: 'ok',
    generatedAt: new Date(now).toISOString(),
    intervalMs: sampler.intervalMs,
    windowMs: sampler.windowMs,
    historyId: sampler.id,
    sources: {
      events: Array.isArray(recent) ? 'getRecentEvents' : 'inferred',
      statements: Array.isArray(statements) ? 'getQueryStats' : null,
    },
    members,
    metrics: counters,
    history: historyId === sampler.id ? sampler.since(since) : sampler.history,
    events: Array.isArray(recent) ? recent : sampler.events,
    statements: Array.isArray(statements) ? statements : [],
  }
}

module.exports = {
  HISTORY_WINDOW_MS,
  MAX_EVENTS,
  SAMPLE_INTERVAL_MS,
  Sampler,
  inferEvents,
  listMembers,
  snapshot,
  takeSample,
  trimHistory,
}
