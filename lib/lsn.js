'use strict'
// lsn: WAL positions (PostgreSQL's pg_lsn, 'X/Y' in hex) as BigInts — the only place JavaScript
// reads or writes them.

const TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** A WAL position `'16/B374D848'` as a BigInt, or null when `text` is not one. */
function parseLsn(text) {
  const m = typeof text === 'string' ? TEXT.exec(text) : null
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : null
}

/** A WAL position as PostgreSQL writes it: upper-case hex, no leading zeros (`'16/B374D848'`). */
function formatLsn(position) {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`
}

/** The later of two positions (BigInts); either may be null. */
function laterLsn(a, b) {
  if (a === null || a === undefined) return b ?? null
  if (b === null || b === undefined) return a
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take BigInts
  return b > a ? b : a
}

module.exports = { parseLsn, formatLsn, laterLsn }
