// lib/lsn.js: WAL positions 'X/Y' ⇄ BigInt, and the later of two.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { parseLsn, formatLsn, laterLsn } = require('../../lib/lsn.js')

test('parseLsn reads PostgreSQL positions, upper or lower case', () => {
  assert.equal(parseLsn('0/0'), 0n)
  assert.equal(parseLsn('0/1'), 1n)
  assert.equal(parseLsn('1/0'), 1n << 32n)
  assert.equal(parseLsn('16/B374D848'), 0x16b374d848n)
  assert.equal(parseLsn('16/b374d848'), 0x16b374d848n)
  assert.equal(parseLsn('00000016/0000D848'), 0x160000d848n)
  assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), (1n << 64n) - 1n)
})

test('parseLsn gives null for anything that is not a position', () => {
  const bad = [
    '',
    '0',
    '0/',
    '/0',
    '0/0/0',
    'G/0',
    '0/x1',
    '123456789/0',
    '0/123456789',
    ' 0/1',
    '0/1 ',
    '0x1/0',
    '-1/0',
  ]
  for (const text of bad) assert.equal(parseLsn(text), null, JSON.stringify(text))
  for (const value of [null, undefined, 42, 1n, {}, ['0/1'], { toString: () => '0/1' }]) {
    assert.equal(parseLsn(value), null, String(value))
  }
})

test('formatLsn writes what PostgreSQL writes, and round-trips', () => {
  assert.equal(formatLsn(0n), '0/0')
  assert.equal(formatLsn(0x16b374d848n), '16/B374D848')
  assert.equal(formatLsn(1n << 32n), '1/0')
  assert.equal(formatLsn((1n << 64n) - 1n), 'FFFFFFFF/FFFFFFFF')
  for (const text of ['0/0', '0/1', '16/B374D848', 'A/B', 'FFFFFFFF/0']) assert.equal(formatLsn(parseLsn(text)), text)
  assert.equal(formatLsn(parseLsn('00000016/0000d848')), '16/D848', 'normalized')
})

test('laterLsn picks the later position; null stands for none', () => {
  assert.equal(laterLsn(null, null), null)
  assert.equal(laterLsn(undefined, undefined), null)
  assert.equal(laterLsn(null, 5n), 5n)
  assert.equal(laterLsn(5n, null), 5n)
  assert.equal(laterLsn(5n, 7n), 7n)
  assert.equal(laterLsn(7n, 5n), 7n)
  assert.equal(laterLsn(0n, null), 0n, '0/0 is a position, not none')
  assert.equal(laterLsn(parseLsn('1/0'), parseLsn('0/FFFFFFFF')), 1n << 32n, 'compared as numbers, not text')
})
