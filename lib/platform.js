'use strict'
// platform: napi-rs's names for platforms — the suffix of each binary
// (read-replica-manager.<platform>.node) and of each per-platform package
// (read-replica-manager-<platform>) — for a target triple and for this process.

const fs = require('node:fs')

/**
 * napi-rs's name for a target triple: `x86_64-unknown-linux-gnu` → `linux-x64-gnu`,
 * `aarch64-apple-darwin` → `darwin-arm64`, `x86_64-pc-windows-msvc` → `win32-x64-msvc`
 * (a unit test holds it to the napi CLI's own parser for every release target).
 */
function platformOfTarget(triple) {
  const parts = triple.split('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32' }[parts[0]] ?? parts[0]
  if (parts.includes('darwin')) return `darwin-${arch}`
  if (parts.includes('windows')) return `win32-${arch}-${parts.at(-1)}`
  if (parts.includes('linux')) return `linux-${arch}-${parts.at(-1)}`
  return `${parts.at(-1)}-${arch}`
}

/** The C library on Linux, told as binding.js tells it: `gnu` (glibc) or `musl`. */
function linuxLibc() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl') ? 'musl' : 'gnu'
  } catch {
    // No ldd (a distroless image): the process report says which libc this Node runs on.
    const excluded = process.report.excludeNetwork
    process.report.excludeNetwork = true // no network handles in the report, so no DNS look-ups
    try {
      return process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
    } finally {
      process.report.excludeNetwork = excluded
    }
  }
}

/** This process's platform: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`, … */
function currentPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${linuxLibc()}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { platformOfTarget, currentPlatform }
