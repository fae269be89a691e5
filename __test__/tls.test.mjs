// TLS against the local primary with a CA and server certificate made here with openssl:
// verify-full with the right CA connects; a wrong CA or host name is refused; verify-ca ignores
// the name; require encrypts without checking; sslmode and sslrootcert work in connection strings.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { cluster, configs, PASSWORD, waitFor } from './helpers.mjs'

const { primaryConfig } = configs()
const dir = mkdtempSync(path.join(tmpdir(), 'rrm-tls-'))
const file = (name) => path.join(dir, name)
let ca
let wrongCa

const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' })

async function onPrimary(sql) {
  const client = new pg.Client({ ...primaryConfig, application_name: 'rrm-test-side-channel' })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

before(async () => {
  for (const name of ['ca', 'wrong-ca']) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=rrm test ${name}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.crt`),
    )
  }
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  )
  writeFileSync(file('san.ext'), 'subjectAltName=DNS:localhost\n')
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.crt'),
  )
  ca = readFileSync(file('ca.crt'), 'utf8')
  wrongCa = readFileSync(file('wrong-ca.crt'), 'utf8')

  const data = cluster('data-dir', 'primary').trim()
  for (const name of ['server.crt', 'server.key']) {
    copyFileSync(file(name), path.join(data, `rrm-test-${name}`))
    chmodSync(path.join(data, `rrm-test-${name}`), 0o600)
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:', path.join(data, `rrm-test-${name}`)])
  }
  await onPrimary("ALTER SYSTEM SET ssl_cert_file = 'rrm-test-server.crt'")
  await onPrimary("ALTER SYSTEM SET ssl_key_file = 'rrm-test-server.key'")
  await onPrimary('ALTER SYSTEM SET ssl = on')
  await onPrimary('SELECT pg_reload_conf()')
  await waitFor('ssl on', async () => (await onPrimary('SHOW ssl'))[0].ssl === 'on')
})

after(async () => {
  await closeReadReplicaManager()
  await onPrimary('ALTER SYSTEM RESET ssl')
  await onPrimary('ALTER SYSTEM RESET ssl_cert_file')
  await onPrimary('ALTER SYSTEM RESET ssl_key_file')
  await onPrimary('SELECT pg_reload_conf()')
  rmSync(dir, { recursive: true, force: true })
})

/** Connects with `config` (primary only) and reports whether the session is encrypted. */
async function encrypted(config) {
  const manager = await initializeReadReplicaManager(config, [], { connectionTimeoutMillis: 5000 })
  try {
    const { rows } = await manager.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    return rows[0].ssl
  } finally {
    await closeReadReplicaManager()
  }
}

const url = (host, query) =>
  `postgres://${primaryConfig.user}:${primaryConfig.password}@${host}:${primaryConfig.port}/${primaryConfig.database}?${query}`

test('ssl { ca } with the right CA and host name connects encrypted (verify-full)', async () => {
  assert.equal(await encrypted({ ...primaryConfig, host: 'localhost', ssl: { ca } }), true)
  assert.equal(await encrypted({ ...primaryConfig, host: 'localhost', ssl: { ca: Buffer.from(ca) } }), true)
})

test('a wrong CA or a wrong host name is refused, with no password in the error', async () => {
  for (const config of [
    { ...primaryConfig, host: 'localhost', ssl: { ca: wrongCa } },
    { ...primaryConfig, host: '127.0.0.1', ssl: { ca } }, // the certificate names localhost only
    { connectionString: url('127.0.0.1', 'sslmode=verify-full'), ssl: { ca } },
  ]) {
    const err = await encrypted(config).then(
      () => assert.fail(`connected with ${JSON.stringify({ ...config, password: undefined })}`),
      (e) => e,
    )
    assert.ok(err instanceof Error)
    assert.match(err.code, /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)$/)
    assert.match(err.message, /certificate/i)
    assert.ok(!err.message.includes(PASSWORD))
  }
})

test('sslmode in connection strings: verify-ca ignores the name, require does not verify, disable is plain', async () => {
  assert.equal(await encrypted({ connectionString: url('127.0.0.1', 'sslmode=verify-ca'), ssl: { ca } }), true)
  assert.equal(await encrypted({ connectionString: url('localhost', 'sslmode=require'), ssl: { ca: wrongCa } }), true)
  assert.equal(
    await encrypted({ connectionString: url('localhost', `sslmode=verify-full&sslrootcert=${file('ca.crt')}`) }),
    true,
  )
  assert.equal(await encrypted({ connectionString: url('localhost', 'sslmode=disable') }), false)
  assert.equal(await encrypted({ ...primaryConfig, ssl: { rejectUnauthorized: false } }), true)
  assert.equal(await encrypted({ ...primaryConfig }), false, 'no ssl option: plain, as with pg')
})
