// lib/env.js: the guide's environment variables (docs/guide.md, "Environment Configuration") read
// into configs; every problem names the variable (code ERR_RRM_ENV) and never echoes a password.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { configsFromEnv, envPort } = require('../../lib/env.js')

const SECRET = 's3cr3t-pa55'
const BASE = { DB_HOST: 'db', DB_PORT: '5432', DB_NAME: 'app', DB_USER: 'u', DB_PASSWORD: SECRET }

/** Asserts that `env` is refused with a message matching `message` that does not show the secret. */
function refused(env, message) {
  assert.throws(
    () => configsFromEnv(env),
    (err) => {
      assert.ok(err instanceof TypeError, `${err}`)
      assert.equal(err.code, 'ERR_RRM_ENV')
      assert.match(err.message, message)
      assert.ok(!err.message.includes(SECRET), `the password leaked: ${err.message}`)
      return true
    },
  )
}

test("the guide's variables make the guide's configs", () => {
  const replicas = [{ host: 'r1', port: 5432, database: 'app', user: 'u', password: SECRET }]
  assert.deepEqual(configsFromEnv({ ...BASE, DB_REPLICAS: JSON.stringify(replicas) }), {
    primaryConfig: { host: 'db', port: 5432, database: 'app', user: 'u', password: SECRET },
    replicaConfigs: replicas,
  })
})

test('optional variables: no port, name or user; an empty password is still a password', () => {
  assert.deepEqual(configsFromEnv({ DB_HOST: 'db', DB_PORT: '', DB_NAME: '', DB_USER: '', DB_PASSWORD: '' }), {
    primaryConfig: { host: 'db', password: '' },
    replicaConfigs: [],
  })
  assert.deepEqual(configsFromEnv({ DB_HOST: 'db', DB_REPLICAS: '  ' }).replicaConfigs, [], 'blank DB_REPLICAS')
})

test('DATABASE_URL wins over DB_HOST; connection strings in DB_REPLICAS become configs', () => {
  const url = `postgres://u:${SECRET}@p/app`
  assert.deepEqual(configsFromEnv({ ...BASE, DATABASE_URL: url, DB_REPLICAS: JSON.stringify(['postgres://r1/app']) }), {
    primaryConfig: { connectionString: url },
    replicaConfigs: [{ connectionString: 'postgres://r1/app' }],
  })
})

test('a replica port given as a string is read as a port', () => {
  const { replicaConfigs } = configsFromEnv({ ...BASE, DB_REPLICAS: '[{"host":"r","port":"5433"}]' })
  assert.deepEqual(replicaConfigs, [{ host: 'r', port: 5433 }])
})

test('each bad variable is named, with the problem', () => {
  refused({ DB_PORT: '5432' }, /^DB_HOST is required \(or set DATABASE_URL to a connection string\)$/)
  refused({ ...BASE, DB_HOST: '' }, /^DB_HOST is required/)
  refused({ ...BASE, DB_PORT: 'abc' }, /^DB_PORT must be a port number from 1 to 65535, got "abc"$/)
  refused({ ...BASE, DB_PORT: '0' }, /^DB_PORT must be a port number/)
  refused({ ...BASE, DB_PORT: '65536' }, /^DB_PORT must be a port number/)
  refused({ ...BASE, DB_PORT: '54.32' }, /^DB_PORT must be a port number/)
  refused(
    { ...BASE, DB_REPLICAS: '{"host":"r"}' },
    /^DB_REPLICAS must be a JSON array of replica configs, got an object$/,
  )
  refused(
    { ...BASE, DB_REPLICAS: '[42]' },
    /^DB_REPLICAS\[0\] must be a config object or a connection string, got a number$/,
  )
  refused({ ...BASE, DB_REPLICAS: '[{}, null]' }, /^DB_REPLICAS\[1\] must be .* got null$/)
  refused({ ...BASE, DB_REPLICAS: '[{"host":"r","port":"x"}]' }, /^DB_REPLICAS\[0\]\.port must be a port number/)
})

test('malformed DB_REPLICAS JSON gives the position, never the text (it may hold passwords)', () => {
  refused(
    { ...BASE, DB_REPLICAS: `[{"host":"r","password":"${SECRET}",}]` },
    /^DB_REPLICAS is not valid JSON \(error at position \d+\): expected an array of replica configs$/,
  )
  refused({ ...BASE, DB_REPLICAS: `${SECRET}` }, /^DB_REPLICAS is not valid JSON/)
})

test('envPort: whole numbers from 1 to 65535, surrounding spaces allowed', () => {
  assert.equal(envPort('P', '1'), 1)
  assert.equal(envPort('P', ' 5432 '), 5432)
  assert.equal(envPort('P', '65535'), 65535)
  for (const bad of ['', ' ', '-1', '1e3', '0x10', '5432a', '65536']) {
    assert.throws(() => envPort('P', bad), {
      code: 'ERR_RRM_ENV',
      message: `P must be a port number from 1 to 65535, got ${JSON.stringify(bad)}`,
    })
  }
})
