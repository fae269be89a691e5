// The packed tarball installs into a fresh project with Express, with no Rust on the machine's
// PATH, and runs the guide's samples (docs/guide.md) under the Node running the tests.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { GUIDE_RAN, installAndRunGuide } from './install.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

test('npm pack → npm install ./read-replica-manager-<v>.tgz express, no cargo on PATH → the guide runs', {
  timeout: 300_000,
}, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rrm-pack-'))
  try {
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    const tarball = packed.trim().split('\n').pop()
    assert.match(tarball, /^read-replica-manager-\d+\.\d+\.\d+\.tgz$/)
    const { app, ran } = installAndRunGuide(dir, [path.join(dir, tarball)])
    const installed = readdirSync(path.join(app, 'node_modules', 'read-replica-manager'))
    for (const file of ['index.js', 'index.d.ts', 'binding.js', 'lib', 'package.json'])
      assert.ok(installed.includes(file), file)
    assert.ok(
      installed.some((f) => f.endsWith('.node')),
      "the native addon is in the package (npm pack carries this machine's binary)",
    )
    assert.deepEqual(ran, GUIDE_RAN)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
