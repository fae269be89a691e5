// lib/native.js: where the addon has no binary, loading the package fails with an error that names
// the platform, the package that was expected and what to do — never a bare "Cannot find module".
// Each case runs Node in a copy of the package without a binary (the generated binding.js as it
// is, node_modules linked), some under another platform or CPU as binding.js sees them.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { platformOfTarget } = require('../../lib/platform.js')
const root = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))

test('napi.targets are the release targets, named as the napi CLI names them', async () => {
  const { parseTriple } = await import('@napi-rs/cli')
  const names = pkg.napi.targets.map(platformOfTarget)
  assert.deepEqual(names, [
    'linux-x64-gnu',
    'linux-x64-musl',
    'linux-arm64-gnu',
    'linux-arm64-musl',
    'darwin-x64',
    'darwin-arm64',
    'win32-x64-msvc',
  ])
  for (const triple of pkg.napi.targets)
    assert.equal(platformOfTarget(triple), parseTriple(triple).platformArchABI, triple)
})

let dir
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rrm-native-'))
  for (const f of ['index.js', 'binding.js', 'package.json', 'lib'])
    cpSync(path.join(root, f), path.join(dir, f), { recursive: true })
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

// Loads the copy and reports the error: CommonJS `require`, or ESM `import` with `esm`.
const PROBE = `
const chain = (e) => (e ? [e.message, ...chain(e.cause)] : [])
const report = (e) => console.log(JSON.stringify({ message: e.message, code: e.code, platform: e.platform,
  packageName: e.packageName, cause: e.cause?.message, chain: chain(e.cause?.cause).join('\\n') }))
if (process.env.PROBE_ESM) import('./index.js').then(() => console.log('{}'), report)
else try { require('./index.js'); console.log('{}') } catch (e) { report(e) }
`

/** Loads the package in the copy; `as` sets process.platform / process.arch before binding.js reads them. */
function load({ as = {}, env = {}, esm = false } = {}) {
  const preload = path.join(dir, 'as.cjs')
  writeFileSync(
    preload,
    Object.entries(as)
      .map(([k, v]) => `Object.defineProperty(process, ${JSON.stringify(k)}, { value: ${JSON.stringify(v)} })\n`)
      .join(''),
  )
  const { NAPI_RS_NATIVE_LIBRARY_PATH, NODE_PATH, ...clean } = process.env
  const out = execFileSync(process.execPath, ['-r', preload, '-e', PROBE], {
    cwd: dir,
    env: { ...clean, ...env, ...(esm ? { PROBE_ESM: '1' } : {}) },
    encoding: 'utf8',
  })
  return JSON.parse(out)
}

function assertExplained(err) {
  assert.equal(err.code, 'ERR_RRM_NATIVE_BINDING')
  assert.doesNotMatch(err.message, /^Cannot find/)
  assert.match(err.message, /^read-replica-manager: /)
  assert.ok(err.message.includes(err.platform), 'names the platform')
  assert.ok(err.message.includes(`Node.js v`), 'names the Node version')
  assert.match(err.message, /build it from source you need Rust .* `npm install && npm run build`/)
  assert.match(err.cause, /^Cannot find native binding/, "binding.js's own error is the cause")
}

test('this platform without its binary: the error names the package that was expected', () => {
  for (const esm of [false, true]) {
    const err = load({ esm })
    assertExplained(err)
    assert.ok(pkg.napi.targets.map(platformOfTarget).includes(err.platform), `${err.platform} is a release target`)
    assert.equal(err.packageName, `read-replica-manager-${err.platform}`)
    assert.ok(err.message.includes(`the package ${err.packageName}`))
    assert.match(err.message, /Reinstall without --omit=optional/)
    // The platform named is the one binding.js looked for.
    assert.ok(err.chain.includes(`./read-replica-manager.${err.platform}.node`), err.chain.slice(0, 400))
  }
})

test('another release platform (darwin-arm64) without its binary: its own package is named', () => {
  const err = load({ as: { platform: 'darwin', arch: 'arm64' } })
  assertExplained(err)
  assert.equal(err.platform, 'darwin-arm64')
  assert.equal(err.packageName, 'read-replica-manager-darwin-arm64')
})

test('a platform with no prebuilt binary (freebsd-x64): says so, lists the prebuilt ones', () => {
  const err = load({ as: { platform: 'freebsd', arch: 'x64' } })
  assertExplained(err)
  assert.equal(err.platform, 'freebsd-x64')
  assert.equal(err.packageName, null)
  assert.match(err.message, /no prebuilt native addon for freebsd-x64/)
  for (const p of pkg.napi.targets.map(platformOfTarget)) assert.ok(err.message.includes(p), p)
})

test('NAPI_RS_NATIVE_LIBRARY_PATH pointing nowhere: the error names the variable and its value', () => {
  const nowhere = path.join(dir, 'nowhere', 'addon.node')
  const err = load({ env: { NAPI_RS_NATIVE_LIBRARY_PATH: nowhere } })
  assertExplained(err)
  assert.ok(err.message.includes(`NAPI_RS_NATIVE_LIBRARY_PATH is set to ${nowhere}`))
})

test('a binary that is there but does not load: the error says where it is and why', () => {
  const first = load()
  const file = path.join(dir, `read-replica-manager.${first.platform}.node`)
  writeFileSync(file, 'not a shared library')
  try {
    const err = load()
    assertExplained(err)
    assert.ok(err.message.includes(`(${file}) did not load`), err.message)
    assert.ok(err.message.includes(`${file}: `), "the dynamic loader's reason is in the message")
  } finally {
    rmSync(file)
  }
})
