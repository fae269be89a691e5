// Every Kubernetes manifest parses, and the pieces fit: selectors match pod labels, services
// reach named container ports, secrets and config maps referenced exist, and the backend lists
// every replica pod by its stable name.

import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseAllDocuments } from 'yaml'

const dir = new URL('../deploy/kubernetes/', import.meta.url)
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], f)
      return d.toJS()
    }),
  )
const byKind = (kind) => docs.filter((d) => d.kind === kind)
const named = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name)

test('every manifest has a kind, an apiVersion and a name', () => {
  assert.ok(docs.length >= 8)
  for (const d of docs) {
    assert.ok(d.apiVersion && d.kind && d.metadata?.name, JSON.stringify(d).slice(0, 80))
  }
})

test('workload selectors match their pod labels; services select pods and named ports', () => {
  const workloads = [...byKind('StatefulSet'), ...byKind('Deployment')]
  assert.equal(workloads.length, 3)
  for (const w of workloads) {
    const labels = w.spec.template.metadata.labels
    for (const [k, v] of Object.entries(w.spec.selector.matchLabels)) assert.equal(labels[k], v, w.metadata.name)
    if (w.kind === 'StatefulSet') assert.ok(named('Service', w.spec.serviceName), `${w.metadata.name} service`)
  }
  for (const svc of byKind('Service')) {
    const pods = workloads.filter((w) =>
      Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
    )
    assert.equal(pods.length, 1, `${svc.metadata.name} selects exactly one workload`)
    const ports = pods[0].spec.template.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name)
    for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), `${svc.metadata.name} → ${p.targetPort}`)
  }
})

test('every secret and config map reference resolves', () => {
  const refs = JSON.stringify(docs)
  for (const [, name, key] of refs.matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"\}/g)) {
    const secret = named('Secret', name)
    assert.ok(secret, `secret ${name}`)
    assert.ok(key in secret.stringData, `${name}.${key}`)
  }
  for (const [, name] of refs.matchAll(/"configMapRef":\{"name":"([^"]+)"\}/g))
    assert.ok(named('ConfigMap', name), name)
  for (const [, name] of refs.matchAll(/"configMap":\{"name":"([^"]+)"\}/g)) assert.ok(named('ConfigMap', name), name)
})

test('replicas clone the primary and stream; the backend lists every replica pod', () => {
  const replicas = named('StatefulSet', 'postgres-replica')
  const init = replicas.spec.template.spec.initContainers[0].command.join(' ')
  assert.match(init, /pg_basebackup -h postgres-primary .* -R /)
  assert.equal(named('Service', 'postgres-replica').spec.clusterIP, 'None')
  const primaryArgs = named('StatefulSet', 'postgres-primary').spec.template.spec.containers[0].args.join(' ')
  assert.match(primaryArgs, /wal_level=replica/)

  const config = named('ConfigMap', 'api-backend-config').data
  assert.equal(config.DB_HOST.split('.')[0], 'postgres-primary')
  const hosts = config.DB_REPLICA_HOSTS.split(',')
  assert.deepEqual(
    hosts.map((h) => h.split('.').slice(0, 2).join('.')),
    Array.from({ length: replicas.spec.replicas }, (_, i) => `postgres-replica-${i}.postgres-replica`),
  )
  assert.ok(!JSON.stringify(named('ConfigMap', 'api-backend-config')).includes('password'))
})
