'use strict'
// `node bench/tracing.js`: what lib/tracing.js adds to a statement in JS, with nothing listening
// (the default), with a diagnostics_channel subscriber, and with @opentelemetry/api installed but
// no SDK — against calling the native submit directly. No database: the "native side" answers at
// once, so only the JS around a statement is measured (nanoseconds per statement, median of runs).

const diagnostics = require('node:diagnostics_channel')
const otel = require('@opentelemetry/api')
const { Tracing, CHANNEL } = require('../lib/tracing')

const N = 200_000
const RUNS = 7
const MEMBERS = [{ name: 'primary', host: '127.0.0.1', port: 5432, database: 'app' }]
const TRAIL = ['SELECT * FROM t WHERE id = $1', 'replica', 'select', 0, false, -1, 1]
const TEXT = 'SELECT * FROM t WHERE id = $1'

/** A native side that has the reply already: resolves on the next microtask. */
const reply = (traced) => Promise.resolve(traced ? [TRAIL, 'reply'] : 'reply')
const direct = () => reply(false).then((v) => v)
const viaTracing = (tracing) => () =>
  tracing.statement(
    TEXT,
    (traced, finish) => reply(traced).then(finish),
    (v) => v,
  )

async function nsPer(run) {
  const times = []
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) await run()
    times.push(Number(process.hrtime.bigint() - start) / N)
  }
  times.sort((a, b) => a - b)
  return times[RUNS >> 1]
}

async function main() {
  const noOtel = new Tracing(MEMBERS, null)
  const withApi = new Tracing(MEMBERS, otel)
  const rows = [
    ['direct submit (no tracing code)', await nsPer(direct)],
    ['tracing, nothing listening', await nsPer(viaTracing(noOtel))],
    ['tracing, @opentelemetry/api without an SDK', await nsPer(viaTracing(withApi))],
  ]
  const channel = diagnostics.tracingChannel(CHANNEL)
  const noop = () => {}
  channel.subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop })
  rows.push(['tracing, a channel subscriber', await nsPer(viaTracing(noOtel))])
  const base = rows[0][1]
  for (const [what, ns] of rows) {
    console.log(`${what.padEnd(46)} ${ns.toFixed(0).padStart(6)} ns/statement  (+${(ns - base).toFixed(0)} ns)`)
  }
}

main()
