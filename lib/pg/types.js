'use strict'
// pg/types: node-postgres's type parsers for `manager.pg` — the `types` registry, `TypeOverrides`,
// and, for a given set of parsers, which result columns must reach JS as pg's text.
//
// Results arrive from the native side already in pg's default JS form. A parser that is not pg's
// default for its type needs the text pg would have received instead: for the types the native
// side turns into something else (numbers, Dates, Buffers, arrays, …) it is asked for that text.

const pgTypes = require('pg-types')

/** Types whose values the native side returns in a form other than pg's text (numbers, Dates, Buffers, arrays). */
const NATIVE_FORMS = Object.freeze([
  16, 21, 23, 26, 700, 701, 17, 600, 718, 1082, 1114, 1184, 1186, 651, 791, 1000, 1001, 1005, 1007, 1008, 1009, 1014,
  1015, 1016, 1017, 1021, 1022, 1028, 1040, 1041, 1115, 1182, 1183, 1185, 1187, 1231, 1270, 199, 2951, 3807, 3907,
])

/** Every type pg-types parses by default, with its default parser, as loaded (before anyone changed them). */
const builtin = new Map()
require('pg-types/lib/textParsers').init((oid) => builtin.set(oid, pgTypes.getTypeParser(oid, 'text')))
/** pg-types' parser for every other type: the text as it is. */
const noParse = pgTypes.getTypeParser(0, 'text')

/**
 * Changes to pg-types' own registry (`require('pg').types.setTypeParser`, pg's `defaults.parseInt8`)
 * are counted, so that what they ask as text is worked out once per change rather than per query.
 * Every change goes through this function: the registry itself is private to pg-types.
 */
let globalChanges = 0
const setGlobalParser = pgTypes.setTypeParser
pgTypes.setTypeParser = function setTypeParser(...args) {
  globalChanges++
  return setGlobalParser.apply(this, args)
}
let globalPlan = { changes: -1, textTypes: null }

/** Whether `parse` is what pg uses for `oid` by default, i.e. the native form is already right. */
function isDefault(oid, parse) {
  return parse === (builtin.get(oid) ?? noParse)
}

function formatOf(format) {
  return format === 'binary' ? 'binary' : 'text'
}

/**
 * A `pg.types`-shaped registry for one `manager.pg`: parsers set here apply to every result of its
 * Pools and Clients; types not set here fall back to pg-types (so pg's own global settings, as
 * `require('pg').types.setTypeParser` makes them, are honoured as pg would honour them).
 */
/** Marks this module's registries and TypeOverrides, whose chains parsePlan can follow cheaply. */
const OWN = Symbol('read-replica-manager types')

function createTypes() {
  const own = { text: new Map(), binary: new Map() }
  const api = {
    [OWN]: own,
    getTypeParser(oid, format) {
      format = formatOf(format)
      return own[format].get(oid) ?? pgTypes.getTypeParser(oid, format)
    },
    setTypeParser(oid, format, parse) {
      if (typeof format === 'function') {
        parse = format
        format = 'text'
      }
      if (typeof parse !== 'function') {
        throw new TypeError(`setTypeParser(${oid}, …): the parser must be a function`)
      }
      own[formatOf(format)].set(oid, parse)
    },
    arrayParser: pgTypes.arrayParser,
    builtins: pgTypes.builtins,
  }
  return {
    /** What `manager.pg.types` is: pg's four members. */
    api,
    setTypeParser: api.setTypeParser,
    /** Drops this registry's text parser for `oid`: pg-types' applies again. */
    forget(oid) {
      own.text.delete(oid)
    },
    /** pg-types' own text parser for `oid`. */
    builtin(oid) {
      return builtin.get(oid) ?? noParse
    },
  }
}

/** node-postgres's TypeOverrides, falling back to `types` (a manager.pg's registry) by default. */
function typeOverridesClass({ api: defaultTypes }) {
  return class TypeOverrides {
    constructor(userTypes) {
      this._types = userTypes || defaultTypes
      this.text = {}
      this.binary = {}
    }
    get [OWN]() {
      return this
    }
    getOverrides(format) {
      if (format === 'text') return this.text
      if (format === 'binary') return this.binary
      return {}
    }
    setTypeParser(oid, format, parse) {
      if (typeof format === 'function') {
        parse = format
        format = 'text'
      }
      this.getOverrides(format)[oid] = parse
    }
    getTypeParser(oid, format) {
      format = format || 'text'
      return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
    }
  }
}

/**
 * What the parsers of `source` (anything with pg's `getTypeParser`) need for one query: the types
 * to ask as text (null: none), and `parserFor(oid)`, a custom parser or null for pg's default.
 */
function parsePlan(source) {
  const textTypes = textTypesOf(source)
  const parserFor = (oid) => {
    const parse = source.getTypeParser(oid, 'text')
    return isDefault(oid, parse) ? null : parse
  }
  return { textTypes, parserFor }
}

/** The types `source`'s parsers want as text (null: none). */
function textTypesOf(source) {
  // The usual chain — a pool's TypeOverrides over manager.pg.types, neither with parsers of its
  // own — comes down to pg-types' registry, whose answer is kept until it changes.
  let from = source
  while (from[OWN] === from && isEmpty(from.text)) from = from._types
  const own = from[OWN]
  if (own !== undefined && own !== from && own.text.size === 0) {
    if (globalPlan.changes !== globalChanges) {
      globalPlan = { changes: globalChanges, textTypes: textTypesFrom(pgTypes) }
    }
    return globalPlan.textTypes
  }
  return textTypesFrom(from)
}

function textTypesFrom(source) {
  let textTypes = null
  for (const oid of NATIVE_FORMS) {
    if (isDefault(oid, source.getTypeParser(oid, 'text'))) continue
    textTypes ??= []
    textTypes.push(oid)
  }
  return textTypes
}

function isEmpty(object) {
  for (const _ in object) return false
  return true
}

module.exports = { createTypes, typeOverridesClass, parsePlan }
