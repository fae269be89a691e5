// Differential suite: the same statements through node-postgres (the oracle) and the manager,
// against the same cluster; results, values, fields and errors must be equal. Reads run on a
// replica for the manager and on the primary for pg: fixtures are replicated before the suite.
process.env.TZ = 'America/Sao_Paulo' // local-time parsing must match in a zone that is not UTC

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { closeReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'
import { configs, REPLICA_PORTS, replicated } from './helpers.mjs'

const { primaryConfig, replicaConfigs } = configs()
let manager
let pool

const FIXTURE = [
  'DROP TABLE IF EXISTS fid_t, fid_w, fid_tmp CASCADE',
  'DROP TYPE IF EXISTS fid_mood, fid_pair CASCADE',
  'DROP DOMAIN IF EXISTS fid_posint',
  "CREATE TYPE fid_mood AS ENUM ('sad', 'ok', 'happy')",
  'CREATE TYPE fid_pair AS (a int, b text)',
  'CREATE DOMAIN fid_posint AS int CHECK (VALUE > 0)',
  `CREATE TABLE fid_t (id int PRIMARY KEY, name text NOT NULL UNIQUE, parent int REFERENCES fid_t (id),
     qty int NOT NULL DEFAULT 0 CHECK (qty >= 0), mood fid_mood, pair fid_pair, tags text[], doc jsonb)`,
  `INSERT INTO fid_t VALUES (1, 'one', NULL, 1, 'ok', ROW(1, 'x'), '{a,b}', '{"k": [1, 2]}'),
     (2, 'two', 1, 2, 'sad', ROW(2, 'y y'), '{}', 'null'), (3, 'three', 1, 3, NULL, NULL, NULL, NULL)`,
  'CREATE TABLE fid_w (id serial PRIMARY KEY, v int, t text)',
  `CREATE OR REPLACE FUNCTION fid_raise() RETURNS void LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'custom failure' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0001'; END $$`,
  `CREATE OR REPLACE FUNCTION fid_bad_sql() RETURNS int LANGUAGE plpgsql AS $$
     BEGIN RETURN (SELECT no_such_column FROM fid_t LIMIT 1); END $$`,
]

before(async () => {
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  pool = new pg.Pool({ ...primaryConfig, max: 2 })
  for (const sql of FIXTURE) await pool.query(sql)
  await replicated(manager)
})

after(async () => {
  await pool?.end()
  await closeReadReplicaManager()
})

const ERROR_FIELDS = [
  'message',
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
]

const pick = (obj, keys) => Object.fromEntries(keys.map((k) => [k, obj[k]]))
const shape = (r) => ({
  command: r.command,
  rowCount: r.rowCount,
  oid: r.oid,
  rows: r.rows,
  fields: r.fields.map((f) => ({ ...f })),
})

async function outcome(run) {
  try {
    const r = await run()
    return { ok: Array.isArray(r) ? r.map(shape) : shape(r) }
  } catch (err) {
    return { err: { ...pick(err, ERROR_FIELDS), isError: err instanceof Error } }
  }
}

const describe = (values) => JSON.stringify(values ?? [], (k, v) => (typeof v === 'bigint' ? `${v}n` : v))

// Documented deviations (README, "Deviations from node-postgres"), each compared without the
// fields it cannot match. A parameter-count mismatch is caught before the statement is sent,
// so the error carries the server's code, message, file and routine but not its line number.
const DEVIATIONS = new Map([
  ['SELECT 1 AS a', ['line']],
  ['SELECT $1::int AS a; SELECT 2', ['line']],
])

/** Runs one case through both and compares; `reset` restores the state a write case changes. */
async function same(sql, values, config, reset) {
  const query = config ? { text: sql, values, ...config } : sql
  if (reset) await pool.query(reset)
  const expected = await outcome(() => (config ? pool.query(query) : pool.query(sql, values)))
  if (reset) await pool.query(reset)
  const actual = await outcome(() => (config ? manager.query(query) : manager.query(sql, values)))
  for (const field of DEVIATIONS.get(sql) ?? []) {
    assert.notEqual(expected.err?.[field], undefined, `${sql}: the documented deviation in ${field} is gone`)
    delete expected.err[field]
    delete actual.err?.[field]
  }
  assert.deepStrictEqual(actual, expected, `${sql} ${describe(values)}`)
  return expected
}

// [sql] or [sql, values]: every built-in type, scalar and array, with edge values and NULLs.
const TYPE_CASES = [
  ['SELECT 1::int2 AS a, (-32768)::int2 AS b, 32767::int2 AS c, NULL::int2 AS n'],
  ['SELECT 2147483647::int4 AS a, (-2147483648)::int4 AS b, 0::int4 AS c'],
  ['SELECT 9223372036854775807::int8 AS a, (-9223372036854775808)::int8 AS b, 0::int8 AS c'],
  ['SELECT 4294967295::oid AS a, 0::oid AS b'],
  [
    "SELECT 0.1::float4 AS a, 3.4028235e38::float4 AS b, 'NaN'::float4 AS c, '-Infinity'::float4 AS d, 1.17549435e-38::float4 AS e",
  ],
  [
    "SELECT 0.1::float8 AS a, 1e308::float8 AS b, 5e-324::float8 AS c, 'Infinity'::float8 AS d, -0.0::float8 AS e, 'NaN'::float8 AS f",
  ],
  ['SELECT 12.340::numeric AS a, -0.000012::numeric AS b, 123456789012345678901234567890.123456789::numeric AS c'],
  ["SELECT 'NaN'::numeric AS a, 0::numeric AS b, 0.00::numeric AS c, 1e-20::numeric AS d, 10000::numeric AS e"],
  ["SELECT 'Infinity'::numeric AS a, '-Infinity'::numeric AS b, 1.5::numeric(10,4) AS c"],
  ["SELECT '12.5'::money AS a, '-1234567.89'::money AS b, 0::money AS c"],
  ['SELECT true AS a, false AS b, NULL::bool AS c'],
  ["SELECT 'héllo ✓ 🐘'::text AS a, ''::text AS b, 'x'::varchar(5) AS c, 'ab'::char(4) AS d"],
  ["SELECT 'pg_class'::name AS a, 'a'::\"char\" AS b, ''::\"char\" AS c"],
  ["SELECT '\\x'::bytea AS a, '\\xdeadbeef00'::bytea AS b, decode('68656c6c6f', 'hex') AS c"],
  ["SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS a"],
  [`SELECT '{"a": [1, 2, {"b": null}]}'::json AS a, '"str"'::json AS b, '123.5'::jsonb AS c, 'null'::jsonb AS d`],
  [`SELECT '{"ü": "ü", "e": "\\u00e9"}'::jsonb AS a, '[]'::jsonb AS b, '{"big": 12345678901234567890}'::jsonb AS c`],
  [
    "SELECT '2024-02-29'::date AS a, '0044-03-15 BC'::date AS b, '0099-01-01'::date AS c, 'infinity'::date AS d, '-infinity'::date AS e",
  ],
  ["SELECT '1970-01-01'::date AS a, '2038-01-19'::date AS b, '1900-03-01'::date AS c"],
  [
    "SELECT '2024-01-02 03:04:05.678901'::timestamp AS a, '2024-03-10 02:30:00'::timestamp AS b, 'infinity'::timestamp AS c",
  ],
  [
    "SELECT '0001-01-01 00:00:00'::timestamp AS a, '1999-12-31 23:59:59.9995'::timestamp AS b, '0010-06-15 12:00:00 BC'::timestamp AS c",
  ],
  [
    "SELECT '2024-01-02 03:04:05.678+05:30'::timestamptz AS a, '1900-01-01 00:00:00Z'::timestamptz AS b, '-infinity'::timestamptz AS c",
  ],
  ["SELECT '2000-01-01 00:00:00.000001+00'::timestamptz AS a, '1969-12-31 23:59:59.999999+00'::timestamptz AS b"],
  ["SELECT '04:05:06'::time AS a, '23:59:59.999999'::time AS b, '00:00:00'::time AS c, '12:00:00.5'::time AS d"],
  [
    "SELECT '04:05:06+05:30'::timetz AS a, '04:05:06-08'::timetz AS b, '00:00:00.25+00'::timetz AS c, '01:00:00+05:30:15'::timetz AS d",
  ],
  ["SELECT '1 year 2 mons 3 days 04:05:06.789'::interval AS a, '-1 day -00:00:01'::interval AS b, '0'::interval AS c"],
  [
    "SELECT '1 mon -1 day'::interval AS a, '-2 years 3 mons'::interval AS b, '100 hours'::interval AS c, '0.000001 seconds'::interval AS d",
  ],
  ["SELECT '-1 year -2 mons +3 days -04:05:06'::interval AS a, '1 day 00:00:00.5'::interval AS b"],
  ["SELECT '10.0.0.1'::inet AS a, '10.0.0.1/24'::inet AS b, '10.0.0.0/8'::cidr AS c, '192.168.0.0/16'::cidr AS d"],
  [
    "SELECT '2001:db8::1'::inet AS a, '::1'::inet AS b, '::'::inet AS c, 'fe80::1:2:3:4/64'::inet AS d, '2001:db8::/32'::cidr AS e",
  ],
  ["SELECT '::ffff:1.2.3.4'::inet AS a, '2001:0:0:1:0:0:0:1'::inet AS b, '1:0:0:0:0:0:0:8'::inet AS c"],
  ["SELECT '08:00:2b:01:02:03'::macaddr AS a, '08:00:2b:01:02:03:04:05'::macaddr8 AS b"],
  ["SELECT B'1010'::bit(4) AS a, B'101100110'::varbit AS b, B''::varbit AS c, B'1'::bit AS d"],
  ["SELECT '(1,2)'::point AS a, '(-1.5,1e10)'::point AS b, '<(1,2),3>'::circle AS c, '<(0.5,-0.5),0.25>'::circle AS d"],
  ["SELECT '{1,2,3}'::line AS a, '[(1,2),(3,4)]'::lseg AS b, '(1,2),(3,4)'::box AS c"],
  ["SELECT '[(1,2),(3,4)]'::path AS a, '((1,2),(3,4))'::path AS b, '((0,0),(1,1),(1,0))'::polygon AS c"],
  [
    "SELECT 'a fat cat sat on a mat'::tsvector AS a, to_tsvector('simple', 'The Quick fox') AS b, 'fat & (rat | cat)'::tsquery AS c",
  ],
  ["SELECT 'ab:1A,2 cd:3'::tsvector AS a, '''quoted'' word'::tsvector AS b"],
  ["SELECT '[1,5)'::int4range AS a, 'empty'::int4range AS b, '(,10]'::int8range AS c, '[1.5,2.5]'::numrange AS d"],
  [
    "SELECT '[2024-01-01,2024-02-01)'::daterange AS a, '[2024-01-01 00:00,2024-01-02 00:00)'::tsrange AS b, '[2024-01-01 00:00+00,)'::tstzrange AS c",
  ],
  ["SELECT '{[1,3), [5,7)}'::int4multirange AS a, '{}'::nummultirange AS b"],
  ['SELECT mood, pair, tags, doc FROM fid_t ORDER BY id'],
  ["SELECT 'happy'::fid_mood AS a, ROW(5, 'z,z')::fid_pair AS b, 3::fid_posint AS c"],
  ["SELECT ROW(1, 'a b', NULL, 2.5::float8, true, ''::text) AS a, ROW() AS b, ROW('x\"y', 'p\\q') AS c"],
  ["SELECT 'pg_class'::regclass AS a, 'int4'::regtype AS b, 'now'::regproc AS c, 'abs(int4)'::regprocedure AS d"],
  [
    "SELECT '||/'::regoper AS a, '+(int4,int4)'::regoperator AS b, 'pg_catalog'::regnamespace AS c, 'simple'::regconfig AS d",
  ],
  ["SELECT 'simple'::regdictionary AS a, '\"C\"'::regcollation AS b, 'rrm'::regrole AS c"],
  [
    "SELECT '16/B374D848'::pg_lsn AS a, '0/0'::pg_lsn AS b, '10:20:10,14,15'::txid_snapshot AS c, '10:20:'::pg_snapshot AS d",
  ],
  ["SELECT '42'::xid AS a, '9999999999'::xid8 AS b, '7'::cid AS c, '(1,2)'::tid AS d"],
  ['SELECT pg_sleep(0) AS v'],
  ["SELECT '<a>b</a>'::xml AS a"],
  ['SELECT 1 AS a, 2 AS a, 3 AS b'],
  ['SELECT NULL AS a, NULL::int AS b, NULL::int[] AS c, NULL::interval AS d, NULL::point AS e'],
  // Arrays pg parses.
  [
    "SELECT '{1,NULL,3}'::int2[] AS a, '{{1,2},{3,4}}'::int4[] AS b, '{}'::int4[] AS c, '{9223372036854775807,NULL}'::int8[] AS d",
  ],
  [
    "SELECT '{1.5,NaN,NULL}'::numeric[] AS a, '{0.1,NaN,Infinity}'::float4[] AS b, '{1e308,-0}'::float8[] AS c, '{1,2}'::oid[] AS d",
  ],
  ["SELECT '{t,f,NULL}'::bool[] AS a, '{\"\\\\x00ff\",NULL}'::bytea[] AS b"],
  [
    String.raw`SELECT '{a,"b c","d,e","f\"g","h\\i",NULL,"NULL",""}'::text[] AS a, '{x,y}'::varchar[] AS b, '{ab}'::char(3)[] AS c`,
  ],
  [
    "SELECT '{2024-01-01,infinity,NULL}'::date[] AS a, '{\"2024-01-01 10:00:00\"}'::timestamp[] AS b, '{\"2024-01-01 10:00:00+02\"}'::timestamptz[] AS c",
  ],
  [
    "SELECT '{\"1 day\",\"-2 hours\",NULL}'::interval[] AS a, ARRAY['{\"a\":1}'::json, NULL] AS b, ARRAY['[1]'::jsonb, 'true'] AS c",
  ],
  [
    "SELECT '{\"(1,2)\",NULL,\"(3.5,4)\"}'::point[] AS a, '{10.0.0.1,::1/128}'::inet[] AS b, '{10.0.0.0/8}'::cidr[] AS c",
  ],
  ["SELECT '{08:00:2b:01:02:03}'::macaddr[] AS a, '{04:05:06,NULL}'::time[] AS b, '{04:05:06+02}'::timetz[] AS c"],
  [
    "SELECT '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'::uuid[] AS a, '{12.5,-1}'::money[] AS b, '{\"[1,2)\",empty}'::numrange[] AS c",
  ],
  ["SELECT '{now,version}'::regproc[] AS a, '[0:1]={7,8}'::int4[] AS b, '{{{1}},{{2}}}'::int4[] AS c"],
  // Arrays pg returns as their literal.
  [
    "SELECT '{a,b}'::name[] AS a, '{\"a b\",c}'::name[] AS b, '{1010,1}'::varbit[] AS c, '{\"[1,2)\"}'::int4range[] AS d",
  ],
  [
    "SELECT '{<a>1</a>}'::xml[] AS a, '{\"<(1,2),3>\"}'::circle[] AS b, '{sad,ok}'::fid_mood[] AS c, '{pg_class}'::regclass[] AS d",
  ],
  [
    "SELECT '{\"a:1 b:2\"}'::tsvector[] AS a, '{16/0}'::pg_lsn[] AS b, ARRAY[ROW(1,'a')::fid_pair] AS c, '{1,2}'::xid[] AS d",
  ],
  [
    "SELECT '{}'::text[] AS a, '{NULL}'::int[] AS b, '{\"\"}'::text[] AS c, array_agg(relname ORDER BY relname) AS d FROM pg_class WHERE relname IN ('pg_class', 'pg_type')",
  ],
  ["SELECT ARRAY[[1.5, 2], [3, NULL]]::numeric[] AS a, ARRAY['1 year'::interval] AS b, '{{a,b},{c,d}}'::text[] AS c"],
  // Catalogue-style queries with many types at once.
  ["SELECT oid, relname, relkind, relnatts, relhasindex, reltuples FROM pg_class WHERE relname = 'pg_class'"],
  [
    "SELECT typname, typlen, typbyval, typtype, typcategory, typdelim FROM pg_type WHERE typname IN ('int4', 'text', 'point') ORDER BY typname",
  ],
  [
    "SELECT attname, atttypid::regtype, attnum, attnotnull FROM pg_attribute WHERE attrelid = 'fid_t'::regclass AND attnum > 0 ORDER BY attnum",
  ],
  [
    "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'fid_t'::regclass ORDER BY conname",
  ],
  ['SELECT generate_series(1, 5) AS n, md5(generate_series(1, 5)::text) AS h'],
  [
    "SELECT i, i * 1.5 AS f, i::text || 'x' AS t, '2024-01-01 00:00+00'::timestamptz - (i || ' days')::interval AS d FROM generate_series(1, 3) i ORDER BY i",
  ],
]

// [sql, values]: every parameter value pg accepts, bound the same way.
const PARAM_CASES = [
  ['SELECT $1::int AS a, $2::text AS b', [1, 'x']],
  ['SELECT $1::text AS a, $2::text AS b, $3::int AS c', [null, undefined, null]],
  ['SELECT $1::bool AS a, $2::bool AS b', [true, false]],
  ['SELECT $1::float8 AS a, $2::float8 AS b, $3::float8 AS c, $4::float8 AS d', [NaN, Infinity, -Infinity, -0]],
  ['SELECT $1::float8 AS a, $2::numeric AS b, $3::int AS c', [0.1, 1e21, -5]],
  ['SELECT $1::int8 AS a, $2::numeric AS b', [2n ** 63n - 1n, -(10n ** 30n)]],
  ['SELECT $1::text AS a', ['it\'s "quoted" \\ back\\slash']],
  ['SELECT $1::text AS a, length($1) AS n', ['héllo ✓ 🐘']],
  ['SELECT $1::text AS a', ['']],
  [
    'SELECT $1::timestamptz AS a, $2::timestamp AS b, $3::date AS c',
    [new Date('2024-05-06T07:08:09.010Z'), new Date('2024-05-06T07:08:09.010Z'), new Date(2024, 4, 6)],
  ],
  ['SELECT $1::timestamptz AS a', [new Date(-62198755200000)]],
  ['SELECT $1::timestamptz AS a', [new Date('invalid')]],
  ['SELECT $1::bytea AS a, length($1::bytea) AS n', [Buffer.from([0, 1, 2, 255])]],
  ['SELECT $1::bytea AS a', [Buffer.alloc(0)]],
  ['SELECT $1::bytea AS a', [new Uint8Array([7, 8, 9])]],
  ['SELECT $1::int[] AS a', [[1, 2, null, 4]]],
  ['SELECT $1::text[] AS a', [['a', 'b,c', 'd"e', 'f\\g', null, '', 'NULL']]],
  [
    'SELECT $1::int[] AS a',
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ],
  ['SELECT $1::bytea[] AS a', [[Buffer.from('ab'), null]]],
  ['SELECT $1::timestamptz[] AS a', [[new Date('2024-01-01T00:00:00Z'), null]]],
  ['SELECT $1::bool[] AS a', [[true, false, null]]],
  ['SELECT $1::jsonb AS a, $2::json AS b', [{ k: 'v', n: [1, 2, null], nested: { deep: true } }, { a: 1 }]],
  ['SELECT $1::jsonb AS a', [[{ a: 1 }]]],
  ['SELECT $1::jsonb AS a', ['"a plain string"']],
  ['SELECT $1::text AS a', [{ toPostgres: () => 'from toPostgres' }]],
  ['SELECT $1::text AS a', [{ toPostgres: (prepare) => prepare([1, 2]) }]],
  ['SELECT $1::int AS a', ['not a number']],
  ['SELECT $1::int AS a', [3.5]],
  ['SELECT $1::int AS a', [true]],
  ['SELECT $1::uuid AS a', ['nonsense']],
  ['SELECT $1::date AS a', ['2024-13-45']],
  ['SELECT $1::jsonb AS a', ['{not json']],
  ['SELECT $1::inet AS a, $2::interval AS b, $3::point AS c', ['10.1.2.3/16', '1 day 2 hours', '(1,2)']],
  ['SELECT $1 AS untyped', ['x']],
  ['SELECT $1::int + $2::int AS sum', ['40', 2]],
  ['SELECT $1::text AS a, $1::text AS b', ['reused']],
  ['SELECT $1::numeric AS a', ['123.4500']],
  ['SELECT $1::money AS a', ['12.3']],
  ['SELECT $1::text[] AS a', [[]]],
  ['SELECT $1::int AS a', []],
  ['SELECT 1 AS a', [1]],
]

// Results of every statement kind: command, rowCount, oid, rows and fields. A third element
// resets the rows a write changes, before each side runs it.
const W = "DELETE FROM fid_w; INSERT INTO fid_w (v, t) VALUES (1, 'a'), (2, 'b'), (2, 'c')"
const RESULT_CASES = [
  ['SELECT * FROM fid_t ORDER BY id'],
  ['SELECT id, name FROM fid_t WHERE false'],
  ['SELECT count(*) FROM fid_t'],
  ['SELECT * FROM fid_t WHERE id = $1', [2]],
  ['VALUES (1, 2), (3, 4)'],
  ['TABLE fid_t'],
  ['SHOW search_path'],
  ['EXPLAIN (COSTS OFF) SELECT * FROM fid_t'],
  ['WITH x AS (SELECT 1 AS a) SELECT * FROM x'],
  ["INSERT INTO fid_w (v, t) VALUES (1, 'a')", [], W],
  ["INSERT INTO fid_w (v, t) VALUES (1, 'a'), (2, 'b') RETURNING v, t", [], W],
  ['UPDATE fid_w SET t = t WHERE v = 2', [], W],
  ['UPDATE fid_w SET t = t WHERE v = -1 RETURNING v', [], W],
  ['DELETE FROM fid_w WHERE v = -1', [], W],
  ['DELETE FROM fid_w WHERE v = 2 RETURNING v, t', [], W],
  ['MERGE INTO fid_w w USING (SELECT 2 AS v) s ON w.v = s.v WHEN MATCHED THEN UPDATE SET t = w.t', [], W],
  ['CREATE TABLE IF NOT EXISTS fid_tmp (a int)'],
  ['ALTER TABLE fid_tmp ADD COLUMN IF NOT EXISTS b int'],
  ['CREATE INDEX IF NOT EXISTS fid_tmp_a ON fid_tmp (a)'],
  ['TRUNCATE fid_tmp'],
  ['SELECT v, t FROM fid_w WHERE v = 1 FOR UPDATE', [], W],
  ["SELECT set_config('application_name', 'fidelity', false) AS s"],
  ['DO $$ BEGIN PERFORM 1; END $$'],
  ['SELECT 1 AS a; SELECT 2 AS b'],
  ['SELECT 1; SELECT * FROM fid_t WHERE false; VALUES (3)'],
  ['INSERT INTO fid_w (v) VALUES (9); SELECT v FROM fid_w WHERE v = 9 LIMIT 1; DELETE FROM fid_w WHERE v = 9'],
  [''],
  ['-- just a comment'],
  ['SELECT $1::int AS a; SELECT 2', [1]],
]

// Errors: every field of pg's DatabaseError, kind by kind.
const ERROR_CASES = [
  ['SELEC 1'],
  ['SELECT * FROM fid_no_such_table'],
  ['SELECT no_such_column FROM fid_t'],
  ["INSERT INTO fid_t (id, name) VALUES (1, 'dup')"],
  ["INSERT INTO fid_t (id, name) VALUES (100, 'one')"],
  ["INSERT INTO fid_t (id, name, parent) VALUES (1000, 'orphan', 999)"],
  ['INSERT INTO fid_t (id, name) VALUES (1001, NULL)'],
  ['UPDATE fid_t SET qty = -1 WHERE id = 1'],
  ['SELECT 1 / 0'],
  ["SELECT 'abc'::int"],
  ['SELECT 2147483647::int + 1'],
  ['SELECT fid_raise()'],
  ['SELECT fid_bad_sql()'],
  ['SELECT no_such_function(1)'],
  ['SELECT id FROM fid_t a, fid_t b'],
  ["SELECT '{bad'::int[]"],
  ['SELECT (-1)::fid_posint'],
  ["SELECT 'x'::fid_mood"],
]

test(`types: ${TYPE_CASES.length} statements return what pg returns`, async () => {
  for (const [sql, values] of TYPE_CASES) {
    const expected = await same(sql, values)
    assert.ok(expected.ok, `the oracle failed on ${sql}: ${JSON.stringify(expected.err)}`)
  }
})

test(`parameters: ${PARAM_CASES.length} values bind as pg binds them`, async () => {
  for (const [sql, values] of PARAM_CASES) await same(sql, values)
})

test(`results: ${RESULT_CASES.length} statement kinds report what pg reports`, async () => {
  for (const [sql, values, reset] of RESULT_CASES) await same(sql, values, undefined, reset)
})

test(`errors: ${ERROR_CASES.length} kinds carry pg's fields`, async () => {
  for (const [sql] of ERROR_CASES) {
    const expected = await same(sql)
    assert.ok(expected.err, `the oracle did not fail on ${sql}`)
  }
})

test('query config objects and rowMode: array', async () => {
  await same('SELECT $1::int AS a, $2::text AS a', [1, 'x'], { rowMode: 'array' })
  await same('SELECT 1 AS a, 2 AS b', undefined, { rowMode: 'array' })
  await same('SELECT id, name FROM fid_t ORDER BY id', [], {})
  await same('SELECT * FROM fid_t WHERE false', [], { rowMode: 'array' })
})

// Results of 8 rows or more cross from Rust packed per column (src/js/pack.rs): every kind, with
// nulls, edge values, repeated values (a dictionary) and columns that stay per value.
const WIDE_CASES = [
  [
    `SELECT g AS i4, (g * 1000003)::int8 AS i8, CASE WHEN g % 3 = 0 THEN NULL ELSE g / 7.0 END::float8 AS f8,
       (ARRAY['NaN', '-0', 'Infinity', '-Infinity', '0', '1e308', '5e-324', '-1.5', '2', '3']::float8[])[g] AS edge,
       g % 2 = 0 AS b, CASE WHEN g = 4 THEN NULL ELSE g % 2 = 0 END AS bn, NULL::int AS nothing
     FROM generate_series(1, 10) g`,
  ],
  [
    `SELECT (ARRAY['infinity', '-infinity', '2024-01-01 00:00:00.123+00', NULL, '1970-01-01 00:00+00', '0001-01-01 00:00+00 BC',
       '2024-02-29 12:00+05', '1999-12-31 23:59:59.999+00', '2038-01-19 03:14:08+00', '1900-01-01 00:00+00'])[g]::timestamptz AS tz,
       '2024-01-01 12:00'::timestamp + g * interval '1 day 1 hour' AS ts, ('2024-01-01'::date + g) AS d,
       (ARRAY['infinity', NULL, '0099-06-01', '2024-03-10 03:30', '-infinity', '2024-11-03 00:00', '1969-12-31 23:59:59.5', '2000-01-01', '2000-01-02', '2000-01-03'])[g]::timestamp AS tedge
     FROM generate_series(1, 10) g`,
  ],
  [
    `SELECT (ARRAY['héllo ✓ 🐘', '', NULL, 'ascii', '𝄞𝄞', 'ÿ', 'a' || chr(1114111) || 'b', ' ', 'tab	new
line', 'end'])[g] AS t,
       CASE WHEN g % 2 = 0 THEN 'even' WHEN g = 5 THEN NULL ELSE '' END AS rep,
       'item ' || g AS plain, g::text AS same_name, 'x' || g AS same_name, md5(g::text)::uuid AS u
     FROM generate_series(1, 10) g`,
  ],
  [
    `SELECT CASE WHEN g % 4 = 0 THEN NULL ELSE ('{"k": ' || g || ', "s": "é🐘"}')::json END AS j,
       CASE WHEN g % 2 = 0 THEN '[1, 2]'::jsonb ELSE '{"a": null}'::jsonb END AS jb,
       (g || ' days')::interval AS iv, decode(lpad(to_hex(g), 2, '0'), 'hex') AS bytes, point(g, -g) AS p,
       ARRAY[g, NULL] AS arr, (g * 1.25)::numeric AS n, (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::fid_mood AS mood
     FROM generate_series(1, 12) g`,
  ],
  ['SELECT g, repeat(chr(128024), g) AS e FROM generate_series(0, 8) g'],
  ['SELECT id, name FROM fid_t a CROSS JOIN generate_series(1, 4) g ORDER BY g, id'],
]

test(`wide results: ${WIDE_CASES.length} statements of 8+ rows return what pg returns`, async () => {
  for (const [sql, values] of WIDE_CASES) {
    const expected = await same(sql, values)
    assert.ok(expected.ok, `the oracle failed on ${sql}: ${JSON.stringify(expected.err)}`)
    assert.ok(expected.ok.rows.length >= 8, sql)
    await same(sql, values, { rowMode: 'array' })
  }
})

test('a read-only transaction error on a replica matches pg on the same replica', async () => {
  const replica = new pg.Client(replicaConfigs[0])
  await replica.connect()
  const expected = await outcome(() => replica.query('INSERT INTO fid_w (v) VALUES (1)'))
  await replica.end()
  const client = await manager.getClient('read')
  try {
    const actual = await outcome(() => client.query('INSERT INTO fid_w (v) VALUES (1)'))
    assert.equal(expected.err.code, '25006')
    assert.deepStrictEqual(actual, expected)
  } finally {
    client.release()
  }
})

test('a statement timeout matches pg', async () => {
  const oracle = await pool.connect()
  const client = await manager.getClient('write')
  try {
    await oracle.query('SET statement_timeout = 50')
    await client.query('SET statement_timeout = 50')
    const expected = await outcome(() => oracle.query('SELECT pg_sleep(2)'))
    const actual = await outcome(() => client.query('SELECT pg_sleep(2)'))
    assert.equal(expected.err.code, '57014')
    assert.deepStrictEqual(actual, expected)
  } finally {
    oracle.release(true)
    client.release(true)
  }
})

test('a connection failure carries a code like pg', async () => {
  const dead = { ...primaryConfig, port: 1 }
  const oracle = new pg.Client(dead)
  const expected = await oracle.connect().then(
    () => null,
    (e) => e,
  )
  await closeReadReplicaManager()
  const m = await initializeReadReplicaManager(dead, [])
  const actual = await m.query('SELECT 1').catch((e) => e)
  assert.equal(actual.code, expected.code)
  assert.ok(actual instanceof Error)
  await closeReadReplicaManager()
  manager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
})

test('the differential suite has at least 150 cases', () => {
  const total = TYPE_CASES.length + PARAM_CASES.length + RESULT_CASES.length + ERROR_CASES.length + 7
  assert.ok(total >= 150, `${total} cases`)
  assert.ok(REPLICA_PORTS.length === 2)
})
