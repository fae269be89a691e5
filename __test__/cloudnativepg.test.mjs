// The CloudNativePG manifests (deploy/cloudnativepg/) parse, and the pieces fit: a Cluster the
// operator accepts, a backend whose DB_HOST is that Cluster's -rw Service and whose replica is its
// -ro Service, secret and config map references that resolve (to a manifest, or to the Secret the
// operator generates), only environment variables the package reads, and HA timings that fit
// together. No database or cluster is needed.

import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseAllDocuments } from 'yaml'

const root = new URL('../', import.meta.url)
const dir = new URL('deploy/cloudnativepg/', root)

/** Every YAML document under `url` (one level of subfolders), each as `{ file, doc }`. */
function load(url, prefix = '') {
  return readdirSync(url, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return load(new URL(`${e.name}/`, url), `${prefix}${e.name}/`)
    if (!e.name.endsWith('.yaml')) return []
    return parseAllDocuments(readFileSync(new URL(e.name, url), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], prefix + e.name)
      return { file: prefix + e.name, doc: d.toJS() }
    })
  })
}
const loaded = load(dir)
const docs = loaded.map((l) => l.doc)
const named = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name)
const byKind = (kind) => docs.filter((d) => d.kind === kind)

const cluster = byKind('Cluster')[0]
const backend = named('Deployment', 'api-backend')
const container = backend?.spec.template.spec.containers[0]
const config = named('ConfigMap', 'api-backend-config')?.data ?? {}

// What the operator puts in the owner's Secret it generates (`<cluster>-app`) when
// bootstrap.initdb names no secret of its own (CloudNativePG, pkg/specs/secrets.go).
const generatedSecretKeys = [
  'username',
  'user',
  'password',
  'dbname',
  'host',
  'port',
  'pgpass',
  'uri',
  'jdbc-uri',
  'fqdn-uri',
  'fqdn-jdbc-uri',
]

/** The environment variables the package reads: lib/env.js and the native options' table. */
function variablesRead() {
  const js = readFileSync(new URL('lib/env.js', root), 'utf8')
  const rs = readFileSync(new URL('core/src/config/options.rs', root), 'utf8')
  return new Set([
    ...[...js.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]),
    ...[...rs.matchAll(/env: Some\("([A-Z][A-Z0-9_]*)"\)/g)].map((m) => m[1]),
  ])
}

/** The container's environment: name → { value } | { configMap, key } | { secret, key }. */
function environment() {
  const env = new Map()
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name
    assert.ok(name, 'envFrom is a config map')
    for (const [key, value] of Object.entries(named('ConfigMap', name)?.data ?? {})) env.set(key, { value })
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef
    env.set(e.name, ref ? { [e.valueFrom.secretKeyRef ? 'secret' : 'configMap']: ref.name, key: ref.key } : e)
  }
  return env
}

test('every manifest has a kind, an apiVersion and a name', () => {
  assert.ok(docs.length >= 5)
  for (const { file, doc } of loaded) {
    assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${file}: ${JSON.stringify(doc).slice(0, 80)}`)
  }
  // `kubectl apply -f deploy/cloudnativepg/` applies the top level only: nothing there needs CRDs
  // beyond the operator's.
  for (const { file, doc } of loaded.filter((l) => !l.file.includes('/'))) {
    assert.match(doc.apiVersion, /^(v1|apps\/v1|postgresql\.cnpg\.io\/v1)$/, file)
  }
})

test('the Cluster: 3 instances, storage, and a database with its owner', () => {
  assert.equal(byKind('Cluster').length, 1)
  assert.equal(cluster.apiVersion, 'postgresql.cnpg.io/v1')
  const { name } = cluster.metadata
  // The operator's webhook: a DNS-1035 label of at most 50 characters.
  assert.match(name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/)
  assert.ok(name.length <= 50)
  assert.equal(cluster.spec.instances, 3)
  assert.match(String(cluster.spec.storage?.size), /^\d+(Ki|Mi|Gi|Ti)$/, 'storage.size')
  const initdb = cluster.spec.bootstrap?.initdb
  assert.ok(initdb?.database, 'bootstrap.initdb.database')
  assert.ok(initdb?.owner, 'bootstrap.initdb.owner')
  assert.notEqual(initdb.owner, 'postgres', 'the owner is not the superuser the operator keeps')
  assert.notEqual(initdb.database, 'postgres')
  if (initdb.secret) assert.ok(named('Secret', initdb.secret.name), `initdb.secret ${initdb.secret.name}`)
  for (const key of ['failoverDelay', 'switchoverDelay']) {
    if (key in cluster.spec) assert.ok(Number.isInteger(cluster.spec[key]) && cluster.spec[key] >= 0, key)
  }
})

test("the backend's DB_HOST is the Cluster's -rw Service, its replicas the -ro Service", () => {
  const name = cluster.metadata.name
  const host = (h) => h.split('.')[0] // postgres-rw, postgres-rw.ns, postgres-rw.ns.svc.cluster.local
  assert.equal(host(config.DB_HOST), `${name}-rw`)
  const replicas = config.DB_REPLICA_HOSTS.split(',')
  assert.deepEqual(replicas.map(host), [`${name}-ro`])
  // The entrypoint turns the host list into the guide's DB_REPLICAS, then starts the app.
  const command = container.command.join(' ')
  assert.match(command, /DB_REPLICA_HOSTS\.split\(","\)/)
  assert.match(command, /export DB_REPLICAS\b/)
  assert.match(command, /exec node server\.mjs/)
  assert.ok(!/password/i.test(JSON.stringify(named('ConfigMap', 'api-backend-config'))), 'no password in a ConfigMap')
})

test('every secret and config map reference resolves', () => {
  const initdb = cluster.spec.bootstrap.initdb
  const generated = initdb.secret ? null : `${cluster.metadata.name}-app`
  const refs = JSON.stringify(docs)
  let secretRefs = 0
  for (const [, name, key] of refs.matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"\}/g)) {
    secretRefs++
    const secret = named('Secret', name)
    if (secret) {
      assert.ok(key in (secret.stringData ?? secret.data ?? {}), `${name}.${key}`)
    } else {
      assert.equal(name, generated, `secret ${name}: neither a manifest nor the one the operator generates`)
      assert.ok(generatedSecretKeys.includes(key), `${name}.${key} is not a key the operator writes`)
    }
  }
  assert.ok(secretRefs >= 2)
  for (const [, name] of refs.matchAll(/"configMapRef":\{"name":"([^"]+)"\}/g))
    assert.ok(named('ConfigMap', name), name)
  for (const [, name] of refs.matchAll(/"configMap":\{"name":"([^"]+)"\}/g)) assert.ok(named('ConfigMap', name), name)
})

test('the backend gets the guide variables the package reads, and nothing it does not', () => {
  const read = variablesRead()
  // The parse above found the tables (a change of their form must not make this test vacuous).
  for (const v of ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DB_REPLICAS'])
    assert.ok(read.has(v), `lib/env.js reads ${v}`)
  for (const v of ['REPLICA_HEALTH_CHECK_INTERVAL', 'DB_POOL_MAX', 'DB_POOL_CONNECT_TIMEOUT'])
    assert.ok(read.has(v), `the options read ${v}`)

  const env = environment()
  // DB_REPLICA_HOSTS is the entrypoint's: it becomes DB_REPLICAS.
  for (const name of env.keys()) {
    assert.ok(read.has(name) || name === 'DB_REPLICA_HOSTS', `${name} is read by nothing`)
  }
  for (const v of ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'REPLICA_HEALTH_CHECK_INTERVAL'])
    assert.ok(env.has(v), `${v} is set`)
  assert.ok(env.has('DB_POOL_CONNECT_TIMEOUT'), 'DB_POOL_CONNECT_TIMEOUT is set')

  // The credentials and the database come from the Cluster's owner Secret, the password from no
  // ConfigMap.
  const secret = cluster.spec.bootstrap.initdb.secret?.name ?? `${cluster.metadata.name}-app`
  assert.deepEqual(env.get('DB_USER'), { secret, key: 'username' })
  assert.deepEqual(env.get('DB_PASSWORD'), { secret, key: 'password' })
  const dbName = env.get('DB_NAME')
  if (dbName.secret) assert.deepEqual(dbName, { secret, key: 'dbname' })
  else assert.equal(dbName.value, cluster.spec.bootstrap.initdb.database)
  const port = env.get('DB_PORT')
  if (port.secret) assert.deepEqual(port, { secret, key: 'port' })
  else assert.equal(port.value, '5432')
})

test('HA timings fit: quick role checks, writes wait out a failover, readiness outlasts the wait', () => {
  const interval = Number(config.REPLICA_HEALTH_CHECK_INTERVAL)
  assert.ok(interval >= 500 && interval <= 2000, `REPLICA_HEALTH_CHECK_INTERVAL ${interval}`)
  // A dead primary: its readiness probe (10 s period, 3 failures) fails, failoverDelay passes,
  // a standby is promoted (allow 10 s).
  const failover = 30_000 + (cluster.spec.failoverDelay ?? 0) * 1000 + 10_000
  const wait = Number(config.DB_POOL_CONNECT_TIMEOUT)
  assert.ok(wait > failover, `DB_POOL_CONNECT_TIMEOUT ${wait} <= failover time ${failover}`)
  // /ready answers 503 while no member is primary: the backends stay in their Service that long.
  const probe = container.readinessProbe
  assert.equal(probe.httpGet.path, '/ready')
  assert.ok(probe.periodSeconds * (probe.failureThreshold ?? 3) * 1000 >= wait, 'readiness window >= write wait')
})

test('the service reaches the backend; the optional PodMonitors select what they scrape', () => {
  const svc = named('Service', 'api-backend')
  const labels = backend.spec.template.metadata.labels
  for (const [k, v] of Object.entries(backend.spec.selector.matchLabels)) assert.equal(labels[k], v)
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v)
  const ports = container.ports.map((p) => p.name)
  for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), p.targetPort)

  const monitors = byKind('PodMonitor')
  assert.equal(monitors.length, 2)
  for (const m of monitors) {
    const sel = m.spec.selector.matchLabels
    if (sel['cnpg.io/cluster']) {
      assert.equal(sel['cnpg.io/cluster'], cluster.metadata.name)
      assert.deepEqual(
        m.spec.podMetricsEndpoints.map((e) => e.port),
        ['metrics'],
      )
    } else {
      for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v, m.metadata.name)
      for (const e of m.spec.podMetricsEndpoints) assert.ok(ports.includes(e.port), e.port)
    }
  }
})
