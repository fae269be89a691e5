// The Node-API version the addon is built for (Cargo.toml's napi feature, `napiN`) is the one the
// README states, every Node the package claims to support (engines) has it, and so does the Node
// running this test (.ci/run runs the unit tests on Node 20, 22 and 24).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

const read = (file) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')
/** Node 20.0.0's Node-API version (Node's Node-API version matrix: 9 from 20.3.0, 10 from 22.14.0). */
const NODE_20_NAPI = 8

test('the napi feature in Cargo.toml is the Node-API version README states, and this Node has it', () => {
  const napi = /^napi\s*=\s*\{[^}]*features\s*=\s*\[([^\]]*)\]/m.exec(read('Cargo.toml'))
  assert.ok(napi, 'the napi dependency in Cargo.toml lists its features')
  const levels = [...napi[1].matchAll(/"napi(\d+)"/g)].map((m) => Number(m[1]))
  assert.equal(levels.length, 1, 'one napiN feature')
  const [level] = levels
  assert.match(read('README.md'), new RegExp(`Node-API ${level}\\b`))
  assert.ok(Number(process.versions.napi) >= level, `Node ${process.version} has Node-API ${process.versions.napi}`)
  assert.equal(JSON.parse(read('package.json')).engines.node, '>= 20')
  assert.ok(level <= NODE_20_NAPI, 'every Node >= 20 has it')
})
