// lib/errors.js: each error the JavaScript side creates has its class, message and code.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const errors = require('../../lib/errors.js')

test('the codes are the table of the README ("Errors")', () => {
  assert.deepEqual(errors.codes, {
    INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
    INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
    CONFIG: 'ERR_RRM_CONFIG',
    ENV: 'ERR_RRM_ENV',
    CLOSED: 'ERR_RRM_CLOSED',
    CLIENT_RELEASED: 'ERR_RRM_CLIENT_RELEASED',
    NOT_INITIALIZED: 'ERR_RRM_NOT_INITIALIZED',
    TRANSACTION_CONTROL: 'ERR_RRM_TRANSACTION_CONTROL',
    UNSUPPORTED: 'ERR_RRM_UNSUPPORTED',
    NO_PRIMARY: 'ERR_RRM_NO_PRIMARY',
    OUTCOME_UNKNOWN: 'ERR_RRM_OUTCOME_UNKNOWN',
    PASSWORD: 'ERR_RRM_PASSWORD',
    NATIVE_BINDING: 'ERR_RRM_NATIVE_BINDING',
  })
  assert.ok(Object.isFrozen(errors.codes))
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const code of Object.values(errors.codes)) assert.ok(readme.includes(`\`${code}\``), `${code} in the README`)
})

test('the native binding uses the same codes (src/js/error.rs)', () => {
  const binding = readFileSync(new URL('../../src/js/error.rs', import.meta.url), 'utf8')
  const native = [...binding.matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1])
  assert.ok(native.length >= 5, 'codes found in the binding')
  for (const code of native) assert.ok(Object.values(errors.codes).includes(code), `${code} is in lib/errors.js`)
})

test('each builder makes a fresh error of its class, message and code', () => {
  const cases = [
    [errors.argumentError('query(text): bad'), TypeError, 'query(text): bad', 'ERR_INVALID_ARG_TYPE'],
    [errors.envError('DB_HOST is required'), TypeError, 'DB_HOST is required', 'ERR_RRM_ENV'],
    [errors.closedError(), Error, 'Read replica manager is closed', 'ERR_RRM_CLOSED'],
    [errors.notInitializedError(), Error, 'Read replica manager not initialized', 'ERR_RRM_NOT_INITIALIZED'],
    [errors.releasedQueryError(), Error, 'Client has already been released to the pool', 'ERR_RRM_CLIENT_RELEASED'],
    [
      errors.releasedTwiceError(),
      Error,
      'Release called on client which has already been released to the pool.',
      'ERR_RRM_CLIENT_RELEASED',
    ],
  ]
  for (const [err, type, message, code] of cases) {
    assert.ok(err instanceof type, message)
    assert.equal(err.message, message)
    assert.equal(err.code, code)
    assert.equal(Object.keys(err).includes('code'), true, 'code is an own, enumerable property')
  }
  assert.notEqual(errors.closedError(), errors.closedError(), 'a new error each time (fresh stack)')
})

test('the plain Errors are not TypeErrors (they are not about an argument)', () => {
  for (const err of [errors.closedError(), errors.notInitializedError(), errors.releasedQueryError()]) {
    assert.equal(err instanceof TypeError, false, err.message)
  }
})

test('nativeBindingError keeps the loader error as its cause and says what was looked for', () => {
  const cause = new Error('Cannot find native binding.')
  const err = errors.nativeBindingError('read-replica-manager: no native addon for linux-arm64-musl', {
    platform: 'linux-arm64-musl',
    packageName: 'read-replica-manager-linux-arm64-musl',
    cause,
  })
  assert.equal(err.code, 'ERR_RRM_NATIVE_BINDING')
  assert.equal(err.cause, cause)
  assert.equal(err.platform, 'linux-arm64-musl')
  assert.equal(err.packageName, 'read-replica-manager-linux-arm64-musl')
  assert.equal(err instanceof TypeError, false)
})
