// lib/events.js: state changes reach options.onEvent and options.logger; a throwing listener never
// disturbs the manager.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const require = createRequire(import.meta.url)
const { eventHandler } = require('../../lib/events.js')

const event = { type: 'replica-unhealthy', level: 'warn', node: 'replica_0', message: 'down' }

test('no listener, no handler', () => {
  assert.equal(eventHandler(undefined, undefined), null)
})

test('each event goes to onEvent and to the logger method of its level', () => {
  const seen = []
  const logger = { info: () => seen.push('info'), warn: (e) => seen.push(['warn', e]), error: () => seen.push('error') }
  eventHandler(logger, (e) => seen.push(['onEvent', e]))(event)
  assert.deepEqual(seen, [
    ['onEvent', event],
    ['warn', event],
  ])
})

test('a listener that throws is ignored, and the other still hears', () => {
  const seen = []
  const handle = eventHandler({ warn: () => seen.push('logged') }, () => {
    throw new Error('listener bug')
  })
  handle(event)
  assert.deepEqual(seen, ['logged'])
  eventHandler(
    {
      warn: () => {
        throw new Error('logger bug')
      },
    },
    undefined,
  )(event)
})
