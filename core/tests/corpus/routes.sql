# The router corpus: every entry is `=== <target> <reason> [noexec]` followed by one SQL text.
# core/tests/router_corpus.rs checks each route, in upper, lower and original case, wrapped in
# comments, whitespace and parentheses. __test__/routing.test.mjs runs every entry not marked
# noexec through the manager on the real cluster (fixture tables rc_*), where it must succeed
# where it was routed. Lines starting with # before the first entry are this header.

=== replica select
SELECT 1
=== replica select
select id, a, b from rc_t where id = 1
=== replica select
SeLeCt Id FrOm Rc_T WhErE iD = 2
=== replica select
SELECT * FROM rc_t ORDER BY id LIMIT 3 OFFSET 1
=== replica select
(SELECT id FROM rc_t WHERE id = 1) UNION (SELECT id FROM rc_t WHERE id = 2)
=== replica select
((SELECT 1))
=== replica select
SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 2 EXCEPT SELECT 3
=== replica select
SELECT * FROM (SELECT id FROM rc_t) s WHERE id IN (SELECT t_id FROM rc_u)
=== replica select
SELECT a, count(*) FROM rc_t GROUP BY a HAVING count(*) >= 1
=== replica select
SELECT DISTINCT ON (a) a, b FROM rc_t ORDER BY a, b
=== replica select
SELECT id, row_number() OVER w FROM rc_t WINDOW w AS (ORDER BY id)
=== replica select
SELECT * FROM rc_t FOR READ ONLY
=== replica select
SELECT substring('abcdef' FROM 2 FOR 3)
=== replica select
SELECT overlay('abcdef' PLACING 'x' FROM 2 FOR 1)
=== replica select
SELECT "update" FROM rc_t WHERE id = 1
=== replica select
SELECT "into", "for" FROM rc_q
=== replica select
SELECT t.id, u.note FROM rc_t t JOIN rc_u u ON u.t_id = t.id
=== replica select
SELECT * FROM rc_t t LEFT JOIN LATERAL (SELECT note FROM rc_u u WHERE u.t_id = t.id LIMIT 1) x ON true
=== replica select
SELECT id FROM rc_v
=== replica select
SELECT rc_read(1)
=== replica select
SELECT doc -> 'k' FROM rc_t WHERE doc @> '{}'
=== replica select
SELECT ARRAY[1, 2, 3] && ARRAY[3]
=== replica select
SELECT now(), current_user, version()
=== replica select
SELECT pg_is_in_recovery()
=== replica select
SELECT count(*) FROM pg_class WHERE relname LIKE 'rc_%'
=== replica select
SELECT 'INSERT INTO rc_t VALUES (1)' AS s
=== replica select
SELECT 'it''s FOR UPDATE' AS s
=== replica select
SELECT E'\' FOR UPDATE --' AS s
=== replica select
SELECT e'\\', 'FOR UPDATE' AS s
=== replica select
SELECT U&'\0041 FOR UPDATE' AS s
=== replica select
SELECT N'FOR UPDATE' AS s
=== replica select
SELECT X'1F', B'101'
=== replica select
SELECT $$DELETE FROM rc_t$$ AS s
=== replica select
SELECT $fn$ DELETE $$ FROM rc_t $fn$ AS s
=== replica select
SELECT $a$ $b$ FOR UPDATE $b$ $a$ AS s
=== replica select
SELECT 1 AS "FOR", 2 AS "UPDATE"
=== replica select
SELECT U&"d\0061t" FROM (SELECT 1 AS dat) s
=== replica select
/* INSERT */ SELECT 1
=== replica select
/* outer /* nested INSERT */ still a comment */ SELECT 1
=== replica select
-- DELETE FROM rc_t
SELECT 1
=== replica select
SELECT 1 -- FOR UPDATE
=== replica select
SELECT 1 /* FOR UPDATE */
=== replica select
SELECT a--b
FROM rc_t
=== replica select
SELECT 1::text, '2'::int, 3::numeric(10, 2)
=== replica select
SELECT ';DELETE FROM rc_t' AS s
=== replica select
SELECT $$; DELETE FROM rc_t$$ AS s
=== replica select
SELECT 1 AS ";"
=== replica select
SELECT 1 /* ; DELETE FROM rc_t */
=== replica select
SELECT nextval FROM rc_q
=== replica select
SELECT 'nextval(1)' AS s
=== replica select
SELECT 1 /* nextval('rc_s') */
=== replica select
SELECT currval FROM rc_q
=== replica select
SELECT my_nextval FROM rc_q
=== replica select
VALUES (1, 'a'), (2, 'b')
=== replica select
values (1)
=== replica select
(VALUES (1))
=== replica select
TABLE rc_t
=== replica select
table public.rc_v
=== replica select
SELECT * FROM rc_t WHERE b = 'for update' AND a > 0
=== replica select
SELECT
  id,
  b
FROM
  rc_t
WHERE
  id = 3
=== replica select
	SELECT	1
=== replica select
SELECT 1 AS x -- trailing comment without newline
=== replica select
SELECT xmin, ctid FROM rc_t LIMIT 1
=== replica select
SELECT pg_size_pretty(pg_total_relation_size('rc_t'))
=== replica select
SELECT * FROM generate_series(1, 3) g
=== replica select
SELECT * FROM rc_t TABLESAMPLE SYSTEM (100)
=== replica select
SELECT jsonb_build_object('update', 1, 'delete', 2)
=== replica select
SELECT a FROM rc_t WHERE EXISTS (SELECT 1 FROM rc_u WHERE rc_u.t_id = rc_t.id)
=== replica select
SELECT CASE WHEN a > 1 THEN 'insert' ELSE 'delete' END FROM rc_t
=== replica select
SELECT to_char(now(), 'YYYY "for update"')
=== replica select
SELECT 1 FROM rc_t t(x, y) LIMIT 1
=== replica select
select/**/1
=== replica select
SELECT(1)
=== replica select
SELECT 1 WHERE 'a' ~ 'b|c' AND 1 <> 2 AND 1 !=3
=== replica show
SHOW search_path
=== replica show
show all
=== replica show
SHOW TIME ZONE
=== replica show
ShOw transaction_isolation
=== replica cte-read
WITH u AS (SELECT * FROM rc_t) SELECT * FROM u
=== replica cte-read
with a as (select 1), b as (select 2) select * from a, b
=== replica cte-read
WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t
=== replica cte-read
WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x
=== replica cte-read
WITH x AS NOT MATERIALIZED (SELECT 1 AS a) TABLE x
=== replica cte-read
WITH x AS (WITH y AS (SELECT 1 AS a) SELECT * FROM y) SELECT * FROM x
=== replica cte-read
WITH update AS (SELECT 1 AS a) SELECT * FROM update
=== replica cte-read
WITH a AS (SELECT 1), delete AS (SELECT 2 AS b) SELECT * FROM delete
=== replica cte-read
WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM t WHERE id < 3) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM t
=== replica cte-read
WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id FROM t) CYCLE id SET is_cycle USING path SELECT * FROM t
=== replica cte-read
(WITH x AS (SELECT 1) SELECT * FROM x)
=== replica cte-read
WITH x AS (SELECT 1) VALUES (2)
=== replica cte-read
WITH x AS (SELECT 'INSERT INTO rc_t' AS s) SELECT * FROM x
=== replica cte-read
WITH x AS (SELECT $$ DELETE FROM rc_t $$ AS s) SELECT * FROM x
=== replica cte-read
/* WITH x AS (DELETE FROM rc_t) */ WITH y AS (SELECT 1) SELECT * FROM y
=== replica cte-read
WITH "insert" AS (SELECT 1 AS a) SELECT * FROM "insert"
=== replica cte-read
WITH x(a, b) AS (VALUES (1, 2)) SELECT a + b FROM x
=== replica cte-read
with recursive r as (select 1 as n union select n + 1 from r where n < 3), s as (select * from r) select * from s
=== replica explain
EXPLAIN SELECT 1
=== replica explain
explain select * from rc_t where id = 1
=== replica explain
EXPLAIN DELETE FROM rc_t WHERE id = 0
=== replica explain
EXPLAIN VERBOSE INSERT INTO rc_log (msg) VALUES ('x')
=== replica explain
EXPLAIN (COSTS OFF, FORMAT JSON) UPDATE rc_t SET a = a WHERE id = 0
=== replica explain
EXPLAIN (ANALYZE false) DELETE FROM rc_t WHERE id = 0
=== replica explain
EXPLAIN (ANALYZE off, COSTS off) DELETE FROM rc_t WHERE id = 0
=== replica explain
EXPLAIN (ANALYZE 0) DELETE FROM rc_t WHERE id = 0
=== replica explain
EXPLAIN ANALYZE SELECT * FROM rc_t
=== replica explain
EXPLAIN (ANALYZE, BUFFERS) SELECT 1
=== replica explain
EXPLAIN ANALYZE VERBOSE WITH x AS (SELECT 1) SELECT * FROM x
=== replica explain
EXPLAIN ANALYSE SELECT count(*) FROM rc_u
=== replica explain
EXPLAIN (FORMAT YAML) SELECT nextval('rc_s')
=== replica explain
/* plan */ EXPLAIN SELECT 'for update'
=== replica multi-statement-read noexec
SELECT 1; SELECT 2
=== replica multi-statement-read noexec
SELECT 1; SHOW search_path; VALUES (1);
=== replica multi-statement-read noexec
select 1;;select 2
=== primary write
INSERT INTO rc_log (msg) VALUES ('corpus')
=== primary write
insert into rc_log (msg) select 'from select'
=== primary write
INSERT INTO rc_log (msg) VALUES ('returning') RETURNING id
=== primary write
INSERT INTO rc_t (id, a, b) VALUES (1, 1, 'x') ON CONFLICT (id) DO UPDATE SET a = EXCLUDED.a
=== primary write
INSERT INTO rc_t (id, a, b) VALUES (1, 1, 'x') ON CONFLICT DO NOTHING
=== primary write
UPDATE rc_t SET a = a WHERE id = 1
=== primary write
update rc_t set b = b where id in (select t_id from rc_u)
=== primary write
UPDATE rc_t SET a = a FROM rc_u WHERE rc_u.t_id = rc_t.id RETURNING rc_t.id
=== primary write
DELETE FROM rc_log WHERE msg = 'nothing'
=== primary write
delete from rc_log where id < 0 returning *
=== primary write
MERGE INTO rc_t t USING rc_u u ON t.id = u.t_id WHEN MATCHED THEN UPDATE SET a = t.a
=== primary write
CREATE TABLE rc_tmp1 (a int)
=== primary write
CREATE INDEX rc_tmp1_a ON rc_tmp1 (a)
=== primary write
ALTER TABLE rc_tmp1 ADD COLUMN b text
=== primary write
COMMENT ON TABLE rc_tmp1 IS 'SELECT only'
=== primary write
GRANT SELECT ON rc_tmp1 TO PUBLIC
=== primary write
REVOKE SELECT ON rc_tmp1 FROM PUBLIC
=== primary write
TRUNCATE rc_tmp1
=== primary write
DROP TABLE rc_tmp1
=== primary write
CREATE TEMP TABLE rc_temp (a int)
=== primary write
CREATE OR REPLACE VIEW rc_v2 AS SELECT id FROM rc_t
=== primary write
DROP VIEW rc_v2
=== primary write
CREATE TABLE rc_tmp2 AS SELECT * FROM rc_t
=== primary write
DROP TABLE IF EXISTS rc_tmp2
=== primary write
CREATE SEQUENCE rc_tmp_seq
=== primary write
DROP SEQUENCE rc_tmp_seq
=== primary write
CALL rc_proc()
=== primary write
DO $$ BEGIN PERFORM 1; END $$
=== primary write
do $body$ begin insert into rc_log (msg) values ('from do'); end $body$
=== primary write
VACUUM rc_log
=== primary write
VACUUM (ANALYZE) rc_log
=== primary write
ANALYZE rc_t
=== primary write
ANALYSE rc_u
=== primary write
CLUSTER rc_t USING rc_t_pkey
=== primary write
REINDEX TABLE rc_u
=== primary write
REFRESH MATERIALIZED VIEW rc_mv
=== primary write
SET application_name = 'rrm-corpus'
=== primary write
RESET application_name
=== primary write
SET LOCAL statement_timeout = 0
=== primary write
DISCARD ALL
=== primary write
LISTEN rc_channel
=== primary write
NOTIFY rc_channel, 'SELECT'
=== primary write
UNLISTEN *
=== primary write
CHECKPOINT
=== primary write noexec
COPY rc_t TO STDOUT
=== primary write noexec
COPY rc_log FROM STDIN
=== primary write noexec
COPY (SELECT 1) TO STDOUT
=== primary write noexec
LOCK TABLE rc_t IN ACCESS EXCLUSIVE MODE
=== primary write noexec
PREPARE rc_q1 AS SELECT 1
=== primary write noexec
EXECUTE rc_q1
=== primary write noexec
DEALLOCATE rc_q1
=== primary write noexec
DECLARE rc_c CURSOR FOR SELECT 1
=== primary write noexec
FETCH 10 FROM rc_c
=== primary write noexec
MOVE NEXT IN rc_c
=== primary write noexec
CLOSE rc_c
=== primary write noexec
SECURITY LABEL ON TABLE rc_t IS 'x'
=== primary write noexec
LOAD 'auto_explain'
=== primary write noexec
IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y
=== primary write noexec
REASSIGN OWNED BY nobody TO nobody
=== primary write
WITH x AS (SELECT 1 AS a) DELETE FROM rc_log WHERE id < 0
=== primary write
WITH x AS (SELECT 'corpus' AS m) INSERT INTO rc_log (msg) SELECT m FROM x
=== primary write
WITH update AS (SELECT 1) UPDATE rc_t SET a = a WHERE id = 1
=== primary write
/* SELECT */ DELETE FROM rc_log WHERE false
=== primary write
-- SELECT
INSERT INTO rc_log (msg) VALUES ('SELECT')
=== primary data-modifying-cte
WITH x AS (INSERT INTO rc_log (msg) VALUES ('cte') RETURNING id) SELECT * FROM x
=== primary data-modifying-cte
with x as (update rc_t set a = a where id = 1 returning *) select * from x
=== primary data-modifying-cte
WITH x AS (DELETE FROM rc_log WHERE false RETURNING *) SELECT count(*) FROM x
=== primary data-modifying-cte
WITH a AS (SELECT 1), b AS (DELETE FROM rc_log WHERE false RETURNING *) SELECT * FROM b
=== primary data-modifying-cte
WITH x AS MATERIALIZED (INSERT INTO rc_log (msg) VALUES ('m') RETURNING id) SELECT id FROM x
=== primary data-modifying-cte noexec
WITH x AS (MERGE INTO rc_t t USING rc_u u ON t.id = u.t_id WHEN MATCHED THEN DO NOTHING) SELECT 1
=== primary data-modifying-cte noexec
WITH x AS (SELECT * FROM (WITH y AS (INSERT INTO rc_log VALUES (DEFAULT) RETURNING *) SELECT * FROM y) z) SELECT * FROM x
=== primary data-modifying-cte
WITH "a b" AS (SELECT 1), c AS (UPDATE rc_t SET b = b WHERE id = 2 RETURNING 'for update' AS s) SELECT * FROM c
=== primary data-modifying-cte
WiTh X aS (iNsErT iNtO rc_log (msg) VaLuEs ('mixed') ReTuRnInG iD) sElEcT * fRoM x
=== primary data-modifying-cte
WITH x AS (DELETE FROM rc_log WHERE msg = $$nothing$$ RETURNING id) SELECT * FROM x
=== primary locking-clause
SELECT * FROM rc_t WHERE id = 1 FOR UPDATE
=== primary locking-clause
select * from rc_t where id = 1 for no key update
=== primary locking-clause
SELECT * FROM rc_t WHERE id = 1 FOR SHARE
=== primary locking-clause
SELECT * FROM rc_t WHERE id = 1 FOR KEY SHARE
=== primary locking-clause
SELECT * FROM rc_t WHERE id = 1 FOR UPDATE OF rc_t NOWAIT
=== primary locking-clause
SELECT * FROM rc_t FOR UPDATE SKIP LOCKED
=== primary locking-clause
SELECT * FROM rc_t t JOIN rc_u u ON u.t_id = t.id FOR SHARE OF t FOR UPDATE OF u
=== primary locking-clause
SELECT * FROM (SELECT * FROM rc_t FOR UPDATE) s
=== primary locking-clause
WITH x AS (SELECT * FROM rc_t FOR UPDATE) SELECT * FROM x
=== primary locking-clause
SELECT * FROM rc_t WHERE id IN (SELECT t_id FROM rc_u FOR KEY SHARE)
=== primary locking-clause
(SELECT * FROM rc_t WHERE id = 1 FOR UPDATE)
=== primary locking-clause
SELECT * FROM rc_t /* lock */ FOR
UPDATE
=== primary locking-clause
SELECT 'for update' AS s FROM rc_t LIMIT 1 FOR UPDATE
=== primary locking-clause
SeLeCt * FrOm rc_t FoR uPdAtE
=== primary select-into
SELECT * INTO rc_into1 FROM rc_t
=== primary select-into
select a, b into temporary rc_into2 from rc_t
=== primary select-into
SELECT 1 AS a INTO UNLOGGED rc_into3
=== primary select-into
WITH x AS (SELECT 1 AS a) SELECT * INTO rc_into4 FROM x
=== primary select-into noexec
(SELECT 1 AS a INTO rc_into5)
=== primary select-into
SELECT id INTO TEMP rc_into6 FROM rc_t UNION SELECT 0
=== primary write-function
SELECT nextval('rc_s')
=== primary write-function
select NEXTVAL('rc_s')
=== primary write-function
SELECT pg_catalog.nextval('rc_s')
=== primary write-function
SELECT setval('rc_s', 100)
=== primary write-function
SELECT id, nextval('rc_s') FROM rc_t
=== primary write-function
SELECT a FROM rc_t WHERE id = nextval ('rc_s') % 10
=== primary write-function
WITH x AS (SELECT nextval('rc_s') AS n) SELECT * FROM x
=== primary write-function
SELECT "nextval"('rc_s')
=== primary write-function
SELECT pg_advisory_xact_lock(42)
=== primary write-function
SELECT pg_advisory_xact_lock_shared(42)
=== primary write-function
SELECT pg_try_advisory_xact_lock(42)
=== primary write-function
SELECT pg_try_advisory_xact_lock_shared(42)
=== primary write-function noexec
SELECT pg_advisory_lock(42)
=== primary write-function noexec
SELECT pg_advisory_lock_shared(42)
=== primary write-function noexec
SELECT pg_try_advisory_lock(42)
=== primary write-function noexec
SELECT pg_try_advisory_lock_shared(42)
=== primary write-function
SELECT pg_advisory_unlock(42)
=== primary write-function
SELECT pg_advisory_unlock_shared(42)
=== primary write-function
SELECT pg_advisory_unlock_all()
=== primary write-function
SELECT pg_notify('rc_channel', 'x')
=== primary write-function
SELECT set_config('application_name', 'rrm', false)
=== primary write-function
SELECT txid_current()
=== primary write-function
SELECT pg_current_xact_id()
=== primary write-function noexec
SELECT lo_create(0)
=== primary write-function noexec
SELECT lo_creat(-1)
=== primary write-function noexec
SELECT lo_import('/etc/hostname')
=== primary write-function noexec
SELECT lo_unlink(0)
=== primary write-function noexec
SELECT lo_put(0, 0, '\x00')
=== primary write-function noexec
SELECT lo_from_bytea(0, '\x00')
=== primary write-function noexec
SELECT lowrite(0, '\x00')
=== primary write-function noexec
SELECT lo_truncate(0, 0)
=== primary write-function noexec
SELECT dblink_exec('dbname=x', 'DELETE FROM t')
=== primary write-function
SELECT pg_switch_wal()
=== primary write-function
SELECT pg_create_restore_point('rrm-corpus')
=== primary write-function noexec
SELECT pg_create_physical_replication_slot('rc_slot')
=== primary write-function noexec
SELECT pg_drop_replication_slot('rc_slot')
=== primary write-function
SELECT pg_logical_emit_message(false, 'rrm', 'x')
=== primary explain-analyze-write
EXPLAIN ANALYZE DELETE FROM rc_log WHERE false
=== primary explain-analyze-write
explain analyse insert into rc_log (msg) values ('explained')
=== primary explain-analyze-write
EXPLAIN (ANALYZE) UPDATE rc_t SET a = a WHERE id = 1
=== primary explain-analyze-write
EXPLAIN (ANALYZE true, TIMING off) MERGE INTO rc_t t USING rc_u u ON t.id = u.t_id WHEN MATCHED THEN DO NOTHING
=== primary explain-analyze-write
EXPLAIN (FORMAT YAML, ANALYZE) SELECT nextval('rc_s')
=== primary explain-analyze-write
EXPLAIN ANALYZE SELECT * FROM rc_t WHERE id = 1 FOR UPDATE
=== primary explain-analyze-write
EXPLAIN ANALYZE VERBOSE WITH x AS (DELETE FROM rc_log WHERE false RETURNING *) SELECT * FROM x
=== primary explain-analyze-write noexec
EXPLAIN ANALYZE CREATE TABLE rc_tmp3 AS SELECT 1
=== primary multi-statement-write noexec
SELECT 1; INSERT INTO rc_log (msg) VALUES ('batch')
=== primary multi-statement-write noexec
INSERT INTO rc_log (msg) VALUES ('batch'); SELECT 1
=== primary multi-statement-write noexec
SELECT 1; SELECT nextval('rc_s')
=== primary multi-statement-write noexec
SELECT 1; FROBNICATE
=== primary unrecognised noexec
FROBNICATE rc_t
=== primary unrecognised noexec
42
=== primary unrecognised noexec
'select'
=== primary unrecognised noexec
WITH x AS (SELECT 1)
=== primary empty noexec

=== primary empty noexec
-- only a comment
=== primary empty noexec
/* only a comment */
=== primary empty noexec
;
=== reject transaction-control
BEGIN
=== reject transaction-control
begin transaction isolation level serializable
=== reject transaction-control
BEGIN WORK
=== reject transaction-control
START TRANSACTION READ ONLY
=== reject transaction-control
COMMIT
=== reject transaction-control
commit and chain
=== reject transaction-control
END
=== reject transaction-control
ROLLBACK
=== reject transaction-control
ABORT
=== reject transaction-control
SAVEPOINT a
=== reject transaction-control
RELEASE SAVEPOINT a
=== reject transaction-control
ROLLBACK TO SAVEPOINT a
=== reject transaction-control
PREPARE TRANSACTION 'tx1'
=== reject transaction-control
COMMIT PREPARED 'tx1'
=== reject transaction-control
ROLLBACK PREPARED 'tx1'
=== reject transaction-control
BEGIN; INSERT INTO rc_log (msg) VALUES ('x'); COMMIT
=== reject transaction-control
SELECT 1; COMMIT
=== reject transaction-control
/* begin */ BEGIN
