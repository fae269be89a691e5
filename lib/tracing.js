'use strict'
// tracing: every statement published on `diagnostics_channel.tracingChannel(
// 'read-replica-manager:query')` and, when `@opentelemetry/api` is installed, made an
// OpenTelemetry CLIENT span (stable database conventions). With no subscriber and no recording
// span a statement costs one check; the native side then reports nothing extra.

const diagnostics = require('node:diagnostics_channel')

const CHANNEL = 'read-replica-manager:query'
const queryChannel = diagnostics.tracingChannel(CHANNEL)
/** The five channels of the tracing channel: any subscriber on one makes statements traced. */
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((e) => queryChannel[e])

/** Whether anything subscribes to the query channel (Node 20's TracingChannel lacks the getter). */
function channelActive() {
  for (const channel of EVENTS) if (channel.hasSubscribers) return true
  return false
}

/** `@opentelemetry/api`, or null when it is not installed (an optional peer dependency). */
function loadOpenTelemetry() {
  try {
    return require('@opentelemetry/api')
  } catch {
    return null
  }
}

const { version } = require('../package.json')

/** The statement's first keyword (`SELECT`, `INSERT`, …), past comments and parentheses. */
const OPERATION = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/

function operationOf(text) {
  const m = OPERATION.exec(text)
  return m === null ? null : m[1].toUpperCase()
}

/**
 * Whether an OpenTelemetry SDK is registered with `otel` (the API): without one every span is a
 * no-op, so a statement need not make one. The API's global provider is a proxy whose delegate
 * is the no-op provider until an SDK registers; any other shape counts as registered.
 */
function sdkCheck(otel) {
  const noop = otel.ProxyTracerProvider ? new otel.ProxyTracerProvider().getDelegate() : null
  return () => {
    const provider = otel.trace.getTracerProvider?.()
    return noop === null || typeof provider?.getDelegate !== 'function' || provider.getDelegate() !== noop
  }
}

/** A member as a statement's context names it: one frozen object per member and role, shared. */
function memberViews(members) {
  const view = ({ name, host, port }, role) => Object.freeze({ name, host, port, role })
  return {
    asPrimary: members.map((m) => view(m, 'primary')),
    asReplica: members.map((m) => view(m, 'replica')),
  }
}

/** One manager's tracing: its members (what a trail's indexes name) and the OpenTelemetry tracer. */
class Tracing {
  #members
  #views
  #database
  #otel
  #tracer
  #sdkRegistered

  /**
   * @param {Array<{ name: string, host: string, port: number, database: string }>} members in
   *   member order (the first one's database is `db.namespace`)
   * @param otel `@opentelemetry/api`, or null (loaded by default)
   */
  constructor(members, otel = loadOpenTelemetry()) {
    this.#members = members
    this.#views = memberViews(members)
    this.#database = members[0]?.database ?? 'postgres'
    this.#otel = otel
    this.#tracer = otel?.trace.getTracer('read-replica-manager', version) ?? null
    this.#sdkRegistered = otel ? sdkCheck(otel) : () => false
  }

  /**
   * Submits one statement: `submit(traced)` starts it (asking the native side for its trail when
   * traced) and returns the Promise of its `[trail, value]` or its value; `finish(value)` makes
   * the result. Traced when the channel has subscribers or an OpenTelemetry span records.
   */
  statement(text, submit, finish) {
    const span = this.#startSpan(text)
    const published = channelActive()
    if (span === null && !published) return submit(false, finish)
    const context = { query: null, route: null, reason: null, member: null, rowCount: null, failover: null }
    const run = () =>
      submit(true, ([trail, value]) => {
        const failed = value instanceof Error
        this.#learn(context, trail, failed)
        if (failed) throw value
        return finish(value)
      })
    const promise = published ? queryChannel.tracePromise(run, context) : run()
    if (span === null) return promise
    return promise.then(
      (result) => {
        this.#endSpan(span, context, null)
        return result
      },
      (err) => {
        this.#endSpan(span, context, err)
        throw err
      },
    )
  }

  /** A recording CLIENT span for a statement, child of the active span; null when none records. */
  #startSpan(text) {
    if (this.#tracer === null || !this.#sdkRegistered()) return null
    const { SpanKind, context } = this.#otel
    const operation = operationOf(text)
    const name = operation === null ? this.#database : `${operation} ${this.#database}`
    const attributes = { 'db.system.name': 'postgresql', 'db.namespace': this.#database }
    if (operation !== null) attributes['db.operation.name'] = operation
    const span = this.#tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, context.active())
    if (span.isRecording()) return span
    span.end()
    return null
  }

  /** Fills the channel's context from the native trail (before the Promise settles). */
  #learn(context, trail, failed) {
    context.query = trail[0]
    context.route = trail[1]
    context.reason = trail[2]
    context.member = (trail[4] ? this.#views.asPrimary : this.#views.asReplica)[trail[3]] ?? null
    const from = this.#members[trail[5]]
    context.failover = from === undefined ? null : { from: from.name }
    context.rowCount = failed ? null : trail[6]
  }

  #endSpan(span, context, err) {
    const attributes = {
      'read_replica_manager.route': context.route,
      'read_replica_manager.route.reason': context.reason,
    }
    if (context.query !== null) attributes['db.query.text'] = context.query
    if (context.member !== null) {
      attributes['server.address'] = context.member.host
      attributes['server.port'] = context.member.port
      attributes['read_replica_manager.member'] = context.member.name
    }
    if (context.route === null) delete attributes['read_replica_manager.route']
    if (context.reason === null) delete attributes['read_replica_manager.route.reason']
    span.setAttributes(attributes)
    if (context.failover !== null) {
      span.addEvent('read_replica_manager.failover', { 'read_replica_manager.failover.from': context.failover.from })
    }
    if (err !== null) {
      const sqlState = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : null
      span.setAttribute('error.type', err.code ?? err.name ?? 'Error')
      if (sqlState !== null) span.setAttribute('db.response.status_code', sqlState)
      span.setStatus({ code: this.#otel.SpanStatusCode.ERROR, message: err.message })
    }
    span.end()
  }
}

module.exports = { Tracing, CHANNEL, operationOf }
