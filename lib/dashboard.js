'use strict'
// dashboard: dashboardHandler(), a live page of the cluster (lib/dashboard.html: members, query
// rates, a timeline, the top statements) and the JSON it polls, for Express or node:http. Like
// lib/express.js it looks the manager up per request, so it can be mounted before initialization.

const { createHash } = require('node:crypto')
const { readFileSync } = require('node:fs')
const path = require('node:path')
const { Sampler, snapshot } = require('./sampler')
const { getReadReplicaManager } = require('./singleton')

/** The page, its Content-Security-Policy, read once on first use. */
let page = null
/** One sampler per process, whichever handler asks, sampling whichever manager is current. */
let sampler = null

/** The CSP source for the inline element `tag` of `html`: the hash of its text, so nothing else runs. */
function inlineHash(html, tag) {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)
  if (!m) throw new Error(`lib/dashboard.html has no <${tag}>`)
  return `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`
}

function loadPage() {
  const html = readFileSync(path.join(__dirname, 'dashboard.html'), 'utf8')
  const csp = [
    "default-src 'none'",
    `script-src ${inlineHash(html, 'script')}`,
    `style-src ${inlineHash(html, 'style')}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ')
  return { html: Buffer.from(html), csp }
}

function currentManager() {
  try {
    return getReadReplicaManager()
  } catch {
    return null
  }
}

/** Plain node:http calls: Express's response is a ServerResponse too, so this serves both. */
function send(req, res, status, headers, body) {
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Cache-Control', 'no-store')
  res.end(req.method === 'HEAD' ? undefined : body)
}

function sendJson(req, res, status, value) {
  send(req, res, status, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(value))
}

/** The query string of `req.url` (mount-relative under Express, whole under node:http). */
function queryOf(req) {
  try {
    return new URL(req.url ?? '/', 'http://localhost').searchParams
  } catch {
    return new URLSearchParams()
  }
}

/**
 * A `(req, res)` handler: GET → the page; GET `?format=json` → the data it polls (503 `{ status:
 * 'unavailable', error }` before the manager is initialized). Mount it with `app.use('/dashboard',
 * dashboardHandler())`, `app.get('/dashboard', …)` or call it from `http.createServer`. The first
 * call starts the process's sampler (every 2 s, 15 minutes of history).
 */
function dashboardHandler() {
  page ??= loadPage()
  sampler ??= new Sampler({ getManager: currentManager })
  sampler.start()
  return function dashboard(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      return sendJson(req, res, 405, { error: `${req.method} is not allowed here: GET or HEAD` })
    }
    const query = queryOf(req)
    if (query.get('format') !== 'json') {
      return send(
        req,
        res,
        200,
        {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': page.csp,
          'Referrer-Policy': 'no-referrer',
        },
        page.html,
      )
    }
    let manager
    try {
      manager = getReadReplicaManager()
    } catch (err) {
      return sendJson(req, res, 503, { status: 'unavailable', error: err.message })
    }
    const since = query.has('since') ? Number(query.get('since')) : null
    let body
    try {
      body = JSON.stringify(snapshot(manager, sampler, { since, historyId: query.get('history') }))
    } catch (err) {
      // Never a throw into node:http's request listener (it would take the process down).
      return sendJson(req, res, 500, { status: 'error', error: err.message })
    }
    send(req, res, 200, { 'Content-Type': 'application/json; charset=utf-8' }, body)
  }
}

module.exports = { dashboardHandler }
