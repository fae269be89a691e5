'use strict'
// Builds the native addon when it is missing or older than its Rust sources (a fresh clone has
// none: `*.node` is not committed). `npm test` and `npm run demo` call this first.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')

function newestSource() {
  let newest = 0
  const visit = (file) => {
    const stat = fs.statSync(file)
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(file)) visit(path.join(file, entry))
    } else {
      newest = Math.max(newest, stat.mtimeMs)
    }
  }
  for (const entry of ['src', 'core/src', 'core/Cargo.toml', 'Cargo.toml', 'Cargo.lock', 'build.rs']) {
    const file = path.join(root, entry)
    if (fs.existsSync(file)) visit(file)
  }
  return newest
}

function addonBuiltAt() {
  const addons = fs.readdirSync(root).filter((f) => f.endsWith('.node'))
  return addons.length === 0 ? 0 : Math.max(...addons.map((f) => fs.statSync(path.join(root, f)).mtimeMs))
}

function ensureBuilt() {
  if (addonBuiltAt() >= newestSource()) return
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' })
  } catch {
    console.error('read-replica-manager: building the addon needs Rust (cargo); install it from https://rustup.rs')
    process.exit(1)
  }
  console.log('read-replica-manager: building the native addon (release; the first build takes a few minutes)…')
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
}

if (require.main === module) ensureBuilt()
module.exports = { ensureBuilt }
