// The shape of lib/: each module opens with a line saying what it is, no require cycle, and only
// the modules that must reach the native binding load it (so the others run without it).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../..', import.meta.url))
const lib = path.join(root, 'lib')
const modules = readdirSync(lib).filter((f) => f.endsWith('.js'))
const BINDING = path.join(root, 'binding.js')
/** The one module that loads binding.js, turning its failure into a clear error. */
const LOADER = path.join(lib, 'native.js')
/** The modules that call the binding's functions (createManager, classifyQuery), through native.js. */
const NATIVE = ['classify.js', 'singleton.js']

/** The files `file` requires by relative path, resolved. */
function requires(file) {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/require\('(\.{1,2}\/[^']*)'\)/g)].map((m) =>
    require.resolve(path.resolve(path.dirname(file), m[1])),
  )
}

test('each module opens with a comment line saying what it is', () => {
  for (const file of modules) {
    const [strict, first] = readFileSync(path.join(lib, file), 'utf8').split('\n')
    assert.equal(strict, "'use strict'", file)
    assert.match(first, new RegExp(`^// ${path.basename(file, '.js')}: \\S`), file)
  }
})

test('no require cycle among index.js and lib/', () => {
  const visiting = new Set()
  const done = new Set()
  const visit = (file, trail) => {
    if (done.has(file) || file === BINDING || !file.startsWith(root)) return
    assert.ok(!visiting.has(file), `cycle: ${[...trail, file].map((f) => path.relative(root, f)).join(' → ')}`)
    visiting.add(file)
    for (const next of requires(file)) visit(next, [...trail, file])
    visiting.delete(file)
    done.add(file)
  }
  visit(path.join(root, 'index.js'), [])
  assert.deepEqual(
    modules.filter((f) => !done.has(path.join(lib, f))),
    [],
    'index.js reaches every module',
  )
})

test('only native.js loads binding.js, and only classify.js and singleton.js load native.js', () => {
  assert.deepEqual(
    modules.filter((f) => requires(path.join(lib, f)).includes(BINDING)),
    ['native.js'],
  )
  const loaders = modules.filter((f) => requires(path.join(lib, f)).includes(LOADER))
  assert.deepEqual(loaders.sort(), NATIVE)
  // The HTTP handlers reach the manager through singleton.js.
  const skip = [...NATIVE, 'native.js', 'express.js', 'dashboard.js']
  for (const file of modules.filter((f) => !skip.includes(f))) {
    require(path.join(lib, file))
  }
  assert.equal(require.cache[BINDING], undefined, 'the pure modules loaded without the binding')
})
