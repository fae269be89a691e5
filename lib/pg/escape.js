'use strict'
// pg/escape: node-postgres's escapeIdentifier / escapeLiteral, character for character.

function escapeIdentifier(str) {
  return `"${str.replace(/"/g, '""')}"`
}

function escapeLiteral(str) {
  if (str == null || typeof str !== 'string') return "''"
  let hasBackslash = false
  let escaped = "'"
  for (const c of str) {
    if (c === "'") {
      escaped += c + c
    } else if (c === '\\') {
      escaped += c + c
      hasBackslash = true
    } else {
      escaped += c
    }
  }
  escaped += "'"
  if (hasBackslash) escaped = ` E${escaped}`
  return escaped
}

module.exports = { escapeIdentifier, escapeLiteral }
