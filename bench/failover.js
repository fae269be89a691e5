'use strict'
// `npm run bench:failover`: writes and reads through a Patroni switchover and through a leader
// crash, for this manager and for postgres.js given all three hosts with
// `target_session_attrs: 'primary'`, on the same steady load against the HA cluster of
// scripts/ha-cluster.sh (etcd + 3 Patroni members; started here when it is not running).
//
// Per client and scenario: W writers each INSERT a row every 20 ms, R readers each run a point
// SELECT every 10 ms, for a few seconds before the event and until writes have landed again for
// ~3 s after the promotion (or give up after 60 s and say so). Patroni's promotion is seen by
// polling each other member's REST API (`GET /primary`, 200 on the leader) every 25 ms from the
// event on. Reported: failed writes and reads (by error code), the write gap (the longest time
// between two successful writes), promotion → first write that lands, and acknowledged writes
// missing from the table afterwards (the cluster runs with synchronous_commit=off and
// asynchronous replication, so a crash may lose some: that is the cluster, not the client).
//
// BENCH_CLIENTS (default `manager,postgresjs`), BENCH_ONLY (`switchover`, `crash`), BENCH_ROUNDS
// (default 1), BENCH_WRITERS / BENCH_READERS (default 2 / 2), BENCH_PRE_MS (default 3000),
// BENCH_GIVE_UP_MS (default 60000); BENCH_WRITE=1 writes bench/FAILOVER.md. Every wait is
// bounded; the cluster is left healthy (a killed member rejoined) at the end.

const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const pg = require('pg')
const { credentials, haMembers, haLeader, ensureHaCluster } = require('../scripts/ha-cluster.js')

const root = path.resolve(__dirname, '..')
const script = path.join(root, 'scripts', 'ha-cluster.sh')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1)
const WRITERS = Number(process.env.BENCH_WRITERS ?? 2)
const READERS = Number(process.env.BENCH_READERS ?? 2)
const PRE_MS = Number(process.env.BENCH_PRE_MS ?? 3000)
const GIVE_UP_MS = Number(process.env.BENCH_GIVE_UP_MS ?? 60_000)
const SETTLE_MS = 3000 // writes landing this long after the promotion end a run
const WRITE_PAUSE_MS = 20
const READ_PAUSE_MS = 10
const POLL_MS = 25
const SEED_ROWS = 1000
const HEALTH_CHECK_INTERVAL = 500
const CONNECTION_TIMEOUT = 60_000
const API_BASE = Number(process.env.RRM_HA_API_PORT ?? 28008)
const CLIENTS = (process.env.BENCH_CLIENTS ?? 'manager,postgresjs').split(',').map((s) => s.trim())
const SCENARIOS = {
  switchover: { title: 'Switchover (`ha-cluster.sh switchover`, planned)', verb: ['switchover'] },
  crash: {
    title: 'Leader crash (`ha-cluster.sh kill-leader`: SIGKILL of Patroni and postmaster)',
    verb: ['kill-leader'],
  },
}
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const chosen = Object.keys(SCENARIOS).filter((s) => !only || only.some((o) => s.includes(o)))

const INSERT = 'INSERT INTO rrm_failover (client, n) VALUES ($1, $2)'
const SELECT = 'SELECT id, client, n FROM rrm_failover WHERE id = $1'

const now = () => performance.now()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const log = (msg) => process.stderr.write(`failover: ${msg}\n`)

/** `p`, or a rejection naming `what` after `ms`. */
function bounded(p, ms, what) {
  let timer
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** `ha-cluster.sh <args>` without blocking the event loop (the load goes on meanwhile), killed
 * (its process group: the daemons it starts live in sessions of their own) after `ms`. */
function ha(args, ms) {
  return new Promise((resolve) => {
    const started = now()
    const child = spawn('bash', [script, ...args], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${ms} ms)`
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, ms)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ ok: code === 0, code: code ?? signal, stdout, stderr, started, ended: now() })
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({ ok: false, code: err.code, stdout, stderr: `${stderr}${err.message}`, started, ended: now() })
    })
  })
}

async function haOrThrow(args, ms) {
  const r = await ha(args, ms)
  if (!r.ok) throw new Error(`ha-cluster.sh ${args.join(' ')} failed (${r.code}):\n${r.stderr.trim()}`)
  return r
}

const apiPort = (member) => API_BASE + Number(member.name.replace(/^pg/, ''))

/** One `GET /primary` on a member's Patroni REST API: its status, or 0 when it does not answer. */
function primaryStatus(member) {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port: apiPort(member), path: '/primary', agent: false, timeout: 1000 },
      (res) => {
        res.resume()
        resolve(res.statusCode)
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/** Polls every member but `oldLeader` every 25 ms; `promotedAt` is when the first request that
 * one of them answered 200 was sent (within 25 ms of the promotion). */
function watchPromotion(members, oldLeader) {
  const state = { promotedAt: null, promoted: null, stopped: false }
  const loops = members
    .filter((m) => m.name !== oldLeader.name)
    .map(async (m) => {
      while (!state.stopped && state.promotedAt === null) {
        const sent = now()
        const status = await primaryStatus(m)
        if (status === 200 && state.promotedAt === null) {
          state.promotedAt = sent
          state.promoted = m.name
        }
        await sleep(Math.max(0, POLL_MS - (now() - sent)))
      }
    })
  state.stop = () => {
    state.stopped = true
    return Promise.all(loops)
  }
  return state
}

/** The two clients, each behind `write(label, n)`, `read(id)` and `close()`. */
const clients = {
  /** The guide's initialization: the leader as primary, the other two as replicas. */
  async manager(leader, members) {
    const rrm = require('..')
    const config = (m) => ({
      host: credentials.host,
      port: m.port,
      database: credentials.database,
      user: credentials.user,
      password: credentials.password,
    })
    const primaryConfig = config(leader)
    const replicaConfigs = members.filter((m) => m.name !== leader.name).map(config)
    const manager = await rrm.initializeReadReplicaManager(primaryConfig, replicaConfigs, {
      healthCheckInterval: HEALTH_CHECK_INTERVAL,
      connectionTimeoutMillis: CONNECTION_TIMEOUT,
    })
    return {
      write: (label, n) => manager.query(INSERT, [label, n]),
      read: (id) => manager.query(SELECT, [id]),
      close: () => rrm.closeReadReplicaManager(5000),
    }
  },

  /** postgres.js's multi-host form (its README, "Multi-host connections"): every member, and
   * `target_session_attrs: 'primary'`; reads and writes both on that one pool. */
  async postgresjs(leader, members) {
    const postgres = require('postgres')
    const e = encodeURIComponent
    const hosts = members.map((m) => `${credentials.host}:${m.port}`).join(',')
    const sql = postgres(
      `postgres://${e(credentials.user)}:${e(credentials.password)}@${hosts}/${credentials.database}`,
      {
        target_session_attrs: 'primary',
        onnotice: () => {},
      },
    )
    return {
      write: (label, n) => sql.unsafe(INSERT, [label, n]),
      read: (id) => sql.unsafe(SELECT, [id]),
      close: () => sql.end({ timeout: 5 }),
    }
  },
}

async function connectTo(member) {
  const client = new pg.Client({
    ...credentials,
    port: member.port,
    connectionTimeoutMillis: 10_000,
    query_timeout: 30_000,
  })
  await client.connect()
  return client
}

/** The table, made afresh on the leader, seeded, and waited for on both replicas. */
async function prepareTable() {
  const leader = haLeader(60)
  const c = await connectTo(leader)
  try {
    await c.query('DROP TABLE IF EXISTS rrm_failover')
    await c.query(
      'CREATE TABLE rrm_failover (id bigserial PRIMARY KEY, client text NOT NULL, n integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())',
    )
    await c.query(`INSERT INTO rrm_failover (client, n) SELECT 'seed', g FROM generate_series(1, ${SEED_ROWS}) g`)
  } finally {
    await c.end()
  }
  for (const m of haMembers().filter((m) => m.name !== leader.name)) {
    const deadline = now() + 30_000
    for (;;) {
      const r = await connectTo(m)
        .then(async (x) => {
          try {
            const { rows } = await x.query(
              "SELECT to_regclass('rrm_failover') IS NOT NULL AND (SELECT count(*) FROM rrm_failover) >= $1 AS ok",
              [SEED_ROWS],
            )
            return rows[0].ok
          } finally {
            await x.end()
          }
        })
        .catch(() => false)
      if (r) break
      if (now() > deadline) throw new Error(`${m.name} did not replay the seeded table in 30 s`)
      await sleep(200)
    }
  }
}

/** Where the client's connections are at the end of a run (by application_name), e.g.
 * `pg0 standby 0, pg1 primary 4, pg2 down`: a pooled connection left on a standby shows here. */
async function connectionsByMember(members, clientName) {
  const app = clientName === 'manager' ? 'read-replica-manager' : 'postgres.js'
  const parts = await Promise.all(
    members.map(async (m) => {
      const c = new pg.Client({ ...credentials, port: m.port, connectionTimeoutMillis: 2000, query_timeout: 5000 })
      try {
        await c.connect()
        const { rows } = await c.query(
          'SELECT pg_is_in_recovery() AS standby, count(*) FILTER (WHERE application_name = $1 AND pid <> pg_backend_pid()) AS n FROM pg_stat_activity',
          [app],
        )
        return `${m.name} ${rows[0].standby ? 'standby' : 'primary'} ${rows[0].n}`
      } catch (err) {
        return `${m.name} ${err.code ?? 'down'}`
      } finally {
        c.end().catch(() => {})
      }
    }),
  )
  return parts.join(', ')
}

/** Failure counts by code, and a sample message per code. */
function tally() {
  return { count: 0, byCode: new Map(), samples: new Map(), times: [] }
}
function fail(t, err, at) {
  const code = err?.code ?? err?.errno ?? err?.name ?? 'no code'
  t.count++
  t.byCode.set(code, (t.byCode.get(code) ?? 0) + 1)
  if (!t.samples.has(code))
    t.samples.set(
      code,
      String(err?.message ?? err)
        .split('\n')[0]
        .slice(0, 200),
    )
  t.times.push(at)
}
const codes = (t) =>
  t.count === 0
    ? '0'
    : `${t.count} (${[...t.byCode]
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ×${n}`)
        .join(', ')})`

/** One client through one event: the figures of one row. */
async function runOnce(clientName, scenario, round) {
  const leader = haLeader(60)
  const members = haMembers()
  const label = `${clientName}/${scenario}/${round}/${Date.now()}`
  log(`${clientName}, ${scenario} (round ${round}): leader ${leader.name}`)
  const db = await bounded(clients[clientName](leader, members), 30_000, `${clientName}: initialize`)

  const writes = { okTimes: [], acked: [], failed: tally(), started: 0, settled: 0 }
  const reads = { ok: 0, failed: tally(), started: 0, settled: 0 }
  let stop = false
  let next = 0
  const writer = async () => {
    while (!stop) {
      const n = ++next
      writes.started++
      try {
        await db.write(label, n)
        writes.okTimes.push(now())
        writes.acked.push(n)
      } catch (err) {
        fail(writes.failed, err, now())
      }
      writes.settled++
      await sleep(WRITE_PAUSE_MS)
    }
  }
  const reader = async () => {
    while (!stop) {
      reads.started++
      try {
        await db.read(1 + Math.floor(Math.random() * SEED_ROWS))
        reads.ok++
      } catch (err) {
        fail(reads.failed, err, now())
      }
      reads.settled++
      await sleep(READ_PAUSE_MS)
    }
  }
  const runStart = now()
  const loops = [...Array.from({ length: WRITERS }, writer), ...Array.from({ length: READERS }, reader)]
  await sleep(PRE_MS)

  const eventAt = now()
  const promotion = watchPromotion(members, leader)
  let eventResult = null
  const event = ha(SCENARIOS[scenario].verb, 150_000).then((r) => {
    eventResult = r
    return r
  })
  let gaveUp = false
  let recoveredAt = null // the first write that landed at or after the promotion
  for (;;) {
    await sleep(50)
    const t = now()
    if (recoveredAt === null && promotion.promotedAt !== null) {
      recoveredAt = writes.okTimes.find((x) => x >= promotion.promotedAt) ?? null
    }
    if (eventResult && !eventResult.ok) break
    const lastFailure = writes.failed.times.at(-1) ?? Number.NEGATIVE_INFINITY
    if (eventResult && recoveredAt !== null && t - recoveredAt >= SETTLE_MS && t - lastFailure >= SETTLE_MS) break
    if (t - eventAt > GIVE_UP_MS) {
      gaveUp = true
      break
    }
  }
  const stopAt = now()
  stop = true
  await promotion.stop()
  if (recoveredAt === null && promotion.promotedAt !== null) {
    recoveredAt = writes.okTimes.find((x) => x >= promotion.promotedAt) ?? null
  }
  let unfinished = 0
  await bounded(Promise.all(loops), CONNECTION_TIMEOUT + 5000, 'the load loops').catch(() => {
    unfinished = writes.started - writes.settled + (reads.started - reads.settled)
  })
  const connections = await connectionsByMember(members, clientName)
  await bounded(db.close(), 15_000, `${clientName}: close`).catch((err) => log(err.message))
  await event
  if (!eventResult.ok) throw new Error(`ha-cluster.sh ${SCENARIOS[scenario].verb[0]} failed:\n${eventResult.stderr}`)
  for (const line of eventResult.stderr.trim().split('\n').filter(Boolean)) log(`  ${line}`)

  // Afterwards: the crashed member back as a replica, every member streaming.
  if (scenario === 'crash') {
    const killed = eventResult.stdout.trim().split(/\s+/)[0]
    log(`rejoining ${killed}`)
    await haOrThrow(['rejoin', killed], 200_000)
  }
  await haOrThrow(['wait', '120'], 130_000)

  // Acknowledged writes missing on the leader now; and failed writes that did land.
  const c = await connectTo(haLeader(60))
  let present
  try {
    const { rows } = await c.query('SELECT n FROM rrm_failover WHERE client = $1', [label])
    present = new Set(rows.map((r) => r.n))
  } finally {
    await c.end()
  }
  const ackedSet = new Set(writes.acked)
  const lost = writes.acked.filter((n) => !present.has(n)).length
  const failedButPresent = [...present].filter((n) => !ackedSet.has(n)).length

  const ok = [...writes.okTimes].sort((a, b) => a - b)
  let gap = 0
  for (let i = 1; i < ok.length; i++) gap = Math.max(gap, ok[i] - ok[i - 1])
  const lastOk = ok.at(-1) ?? runStart
  if (gaveUp) gap = Math.max(gap, stopAt - lastOk)
  const row = {
    client: clientName,
    scenario,
    round,
    oldLeader: leader.name,
    newLeader: promotion.promoted,
    failedWrites: writes.failed,
    failedReads: reads.failed,
    writesOk: writes.acked.length,
    readsOk: reads.ok,
    gapMs: gap,
    gaveUp,
    eventToPromotionMs: promotion.promotedAt === null ? null : promotion.promotedAt - eventAt,
    promotionToWriteMs: recoveredAt === null ? null : recoveredAt - promotion.promotedAt,
    lost,
    failedButPresent,
    unfinished,
    connections,
    failuresFrom: writes.failed.times.length ? writes.failed.times[0] - eventAt : null,
    failuresTo: writes.failed.times.length ? writes.failed.times.at(-1) - eventAt : null,
    durationMs: stopAt - runStart,
  }
  report(row)
  return row
}

function report(r) {
  const s = (ms) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`)
  log(
    `  ${r.client}: ${r.writesOk} writes ok, failed ${codes(r.failedWrites)}; ${r.readsOk} reads ok, failed ${codes(r.failedReads)}`,
  )
  log(
    `  ${r.oldLeader} → ${r.newLeader ?? '?'}: promotion ${s(r.eventToPromotionMs)} after the event, first write ${s(r.promotionToWriteMs)} after it; write gap ${s(r.gapMs)}${r.gaveUp ? ' (gave up waiting)' : ''}`,
  )
  if (r.failuresFrom !== null) log(`  write failures from ${s(r.failuresFrom)} to ${s(r.failuresTo)} after the event`)
  for (const [kind, t] of [
    ['write', r.failedWrites],
    ['read', r.failedReads],
  ]) {
    for (const [code, msg] of t.samples) log(`  ${kind} ${code}: ${msg}`)
  }
  log(`  its connections at the end (${r.client === 'manager' ? 'health checks included' : 'pool'}): ${r.connections}`)
  log(
    `  lost acknowledged writes ${r.lost}; failed writes that did land ${r.failedButPresent}; unfinished at the end ${r.unfinished}`,
  )
}

function table(rows) {
  const ms = (x) => (x === null ? '—' : x.toFixed(0))
  const lines = [
    '| client | failed writes | failed reads | write gap ms | promotion → first write ms | lost acked writes | writes acked | event → promotion ms |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ]
  for (const r of rows) {
    const name = ROUNDS > 1 ? `${r.client} #${r.round}` : r.client
    const gap = r.gaveUp ? `≥ ${ms(r.gapMs)} (gave up)` : ms(r.gapMs)
    lines.push(
      `| ${name} | ${codes(r.failedWrites)} | ${codes(r.failedReads)} | ${gap} | ${ms(r.promotionToWriteMs)} | ${r.lost} | ${r.writesOk} | ${ms(r.eventToPromotionMs)} |`,
    )
  }
  return lines.join('\n')
}

/** Every member back and streaming: a stopped member rejoined, then `wait`. */
async function leaveHealthy() {
  const status = await ha(['status'], 30_000)
  for (const line of status.stdout.split('\n')) {
    const m = /^(pg\d) .*state=stopped/.exec(line)
    if (m) {
      log(`rejoining ${m[1]}`)
      await ha(['rejoin', m[1]], 200_000)
    }
  }
  const r = await ha(['wait', '120'], 130_000)
  if (!r.ok) log(`the cluster is not healthy at the end:\n${r.stderr}`)
}

function writeResults(byScenario) {
  // A file of its own: `npm run bench` rewrites RESULTS.md whole.
  const file = path.join(__dirname, 'FAILOVER.md')
  const date = new Date().toISOString().slice(0, 10)
  let patroni = 'Patroni'
  try {
    patroni = execFileSync('patroni', ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^patroni/, 'Patroni')
  } catch {}
  const parts = [
    '# Failover benchmark results',
    '',
    `${date}, this project's machine (${os.cpus().length} cores, ${os.cpus()[0].model}), Node ${process.version}, ${patroni} + etcd, 3 members (scripts/ha-cluster.sh). ${WRITERS} writers (an INSERT every ${WRITE_PAUSE_MS} ms each) and ${READERS} readers (a point SELECT every ${READ_PAUSE_MS} ms each) per client, from ${PRE_MS / 1000} s before the event until writes have landed for ${SETTLE_MS / 1000} s after the promotion; ${ROUNDS} round(s). The manager as the guide initializes it (the leader as primary, the other two as replicas) with \`healthCheckInterval: ${HEALTH_CHECK_INTERVAL}\` and \`connectionTimeoutMillis: ${CONNECTION_TIMEOUT}\`; postgres.js with the three hosts and \`target_session_attrs: 'primary'\` (reads and writes on that pool). Promotion: the first \`GET /primary\` (polled every ${POLL_MS} ms) that another member answers 200. Produced by \`BENCH_WRITE=1 npm run bench:failover\`.`,
    '',
  ]
  for (const [scenario, rows] of byScenario) {
    parts.push(`## ${SCENARIOS[scenario].title}`, '', table(rows), '')
  }
  parts.push(
    'Lost acked writes: acknowledged INSERTs missing on the leader afterwards. The cluster runs with `synchronous_commit=off` and asynchronous replication, so a crash may lose acknowledged writes whichever client sent them; a switchover should lose none.',
    '',
  )
  fs.writeFileSync(file, parts.join('\n'))
  log(`wrote ${path.relative(root, file)}`)
}

async function main() {
  for (const c of CLIENTS)
    if (!clients[c]) throw new Error(`BENCH_CLIENTS: unknown client '${c}' (manager, postgresjs)`)
  if (chosen.length === 0) throw new Error(`BENCH_ONLY: no scenario matches (${Object.keys(SCENARIOS).join(', ')})`)
  if (ensureHaCluster()) log('started the HA cluster')
  await haOrThrow(['wait', '120'], 130_000)
  await prepareTable()

  const byScenario = new Map(chosen.map((s) => [s, []]))
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of chosen) {
        const order = CLIENTS.map((_, i) => CLIENTS[(i + round - 1) % CLIENTS.length])
        for (const client of order) byScenario.get(scenario).push(await runOnce(client, scenario, round))
      }
    }
  } finally {
    await leaveHealthy()
  }

  for (const [scenario, rows] of byScenario) {
    console.log(`\n${SCENARIOS[scenario].title}\n\n${table(rows)}`)
  }
  console.log(
    `\n${WRITERS} writers every ${WRITE_PAUSE_MS} ms + ${READERS} readers every ${READ_PAUSE_MS} ms per client, ${ROUNDS} round(s), ${os.cpus().length} cores, Node ${process.version}.`,
  )
  console.log(
    'Lost acked writes: the cluster runs with synchronous_commit=off and asynchronous replication, so a crash may lose acknowledged writes whichever the client; a switchover should lose none.',
  )
  if (process.env.BENCH_WRITE === '1') writeResults(byScenario)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
