// Types for read-replica-manager's public API (index.js). The native binding's own types are
// generated into binding.d.ts by `napi build`. "The guide" below is the user's guide,
// docs/guide.md.

import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What a password function is called with: the parameters of the connection it is for. */
export interface PasswordParams {
  host: string
  port: number
  database: string
  user: string
}

/**
 * A node's connection settings, as node-postgres takes them (pg's `Client` and pg-pool's `Pool`
 * config keys). Keys pg does not know are rejected as typos. README, "Configuration", says which
 * keys set the member's connections and which the manager's options govern.
 */
export interface NodeConfig {
  host?: string
  port?: number | string
  database?: string
  user?: string
  /**
   * A string, or a function (sync or async) asked before each new connection of this member,
   * pooled or the health checker's, as pg asks it: for tokens that rotate (RDS / Cloud SQL /
   * Azure IAM). A throw, a rejection, a result that is not a string (`undefined`: no password)
   * or no answer within the connect timeout fails that connection with `ERR_RRM_PASSWORD`.
   */
  password?: string | ((params: PasswordParams) => string | undefined | Promise<string | undefined>)
  /** `postgres://user:pass@host:port/db` or `key=value` pairs; its settings win over the fields. */
  connectionString?: string
  /**
   * TLS as pg takes it: `true` (certificate and host name checked against the Mozilla roots), or
   * options (PEM strings or Buffers; `rejectUnauthorized: false` encrypts without checking).
   */
  ssl?:
    | boolean
    | { rejectUnauthorized?: boolean; ca?: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array }
  /** Names the member's connections in pg_stat_activity; defaults to PGAPPNAME, then `read-replica-manager`. */
  application_name?: string
  fallback_application_name?: string
  /** Startup options, e.g. `-c search_path=app`. */
  options?: string
  /** Milliseconds, sent at startup as pg sends it (0 or false: the server's setting). */
  statement_timeout?: number | string | false
  /** Milliseconds, sent at startup as pg sends it. */
  lock_timeout?: number | string | false
  /** Milliseconds, sent at startup as pg sends it. */
  idle_in_transaction_session_timeout?: number | string | false
  /** TCP keepalives; on unless false. */
  keepAlive?: boolean
  keepAliveInitialDelayMillis?: number
  /** false: never SCRAM channel binding; by default it is used when the server offers it over TLS. */
  enableChannelBinding?: boolean
  /** Accepted as pg-pool takes it; the manager's `max` option sizes every pool. */
  max?: number
  /** Accepted as pg-pool takes it; the manager's `min` option governs. */
  min?: number
  /** Accepted as pg-pool takes it; the manager's `idleTimeoutMillis` option governs. */
  idleTimeoutMillis?: number
  /** Accepted as pg takes it; the manager's `connectionTimeoutMillis` option governs. */
  connectionTimeoutMillis?: number
  /** Accepted; the manager never keeps Node alive by itself anyway. */
  allowExitOnIdle?: boolean
  /** Accepted, not applied. */
  maxUses?: number
  /** Accepted, not applied. */
  maxLifetimeSeconds?: number
  /** Accepted, not applied: use `statement_timeout` (and the manager's `replicaReadTimeout`). */
  query_timeout?: number | false
  /** A type-parser set such as pg.types (with `getTypeParser`): kept on the JavaScript side. */
  types?: { getTypeParser(oid: number, format?: string): unknown }
  /** Accepted, not used: the manager's client is its own. */
  Client?: unknown
  /** Accepted, not used: calls return native Promises. */
  Promise?: unknown
  /** Accepted, not used: see the manager's `logger` option. */
  log?: (...messages: unknown[]) => void
}

/** Manager options. Each defaults to its environment variable, then to the value shown. */
export interface ManagerOptions {
  /** Connections per pool (one pool per node). DB_POOL_MAX, 10. */
  max?: number
  /** Connections opened at start and kept when idle. DB_POOL_MIN, 0. */
  min?: number
  /** Connect timeout and pool wait limit, ms. DB_POOL_CONNECT_TIMEOUT, 30000. */
  connectionTimeoutMillis?: number
  /** Idle connections above `min` close after this long, ms. DB_POOL_IDLE, 10000. */
  idleTimeoutMillis?: number
  /** Time between replica health checks, ms. REPLICA_HEALTH_CHECK_INTERVAL, 30000. */
  healthCheckInterval?: number
  /** Limit for one health check, ms. 5000. */
  healthCheckTimeout?: number
  /** Consecutive failures (checks or connection failures of queries) that eject a replica. 3. */
  failureThreshold?: number
  /** Consecutive passing checks that readmit an ejected replica. 1. */
  recoveryThreshold?: number
  /** Limit for a read on a replica, ms, before it is retried on the primary; 0 turns it off. 15000. */
  replicaReadTimeout?: number
  /** Replicas further behind than this (ms since their last replay, while behind) are skipped. Off. */
  maxReplicationLagMs?: number
  /** Replicas further behind than this many bytes of WAL are skipped. Off. */
  maxReplicationLagBytes?: number
  /** Functions whose call sends a query to the primary, added to the defaults (nextval, …). */
  writeFunctions?: string[]
  /** Functions removed from the write-function list. */
  readOnlyFunctions?: string[]
  /** What reads see by default: 'eventual' (the guide's), 'read-your-writes' or 'strong'. */
  consistency?: Consistency
  /** How long a read waits for a replica to replay the reader's writes before using the primary. 50. */
  causalWaitMs?: number
  /** Fingerprints the statement stats keep (the top by total time); 0 turns the stats off. 500. */
  queryStatsSize?: number
  /** A `slow-query` event (to `onEvent` / `logger.warn`) for every statement at least this long, ms; 0: every statement. Off. */
  slowQueryMs?: number
  /** How many top statements (by total time) `getPrometheusMetrics()` shows. 0 (off). */
  prometheusTopQueries?: number
  /**
   * While a pool has no idle connection left, plain `manager.query` statements (one statement,
   * no settings, no transaction or session state) share busy connections, up to this many on
   * one, pipelined as postgres.js does; 0 or 1: never. 16.
   */
  pipelineDepth?: number
  /**
   * Brisk statements — plain statements whose recent runs on a member took under 1 ms on
   * average — join a busy connection with fewer than this many brisk statements on it before
   * they take an idle one, pipelined (at most `pipelineDepth`); a slow statement, or one not
   * yet seen, takes a connection of its own first. 0 or 1: every statement takes an idle
   * connection first. 8.
   */
  briskDepth?: number
  /** Receives state changes (never one line per query, except slow queries): console, pino, winston, … */
  logger?: {
    info(event: ManagerEvent): unknown
    warn(event: ManagerEvent): unknown
    error(event: ManagerEvent): unknown
  }
  /** Receives the same state changes as objects. */
  onEvent?: (event: ManagerEvent) => void
}

/**
 * A state change: a member out of or back in the read rotation, a failover, lag, a promotion or
 * demotion, a new primary, no primary, split brain — or a slow statement (`SlowQueryEvent`).
 */
export type ManagerEvent = StateChangeEvent | SlowQueryEvent

export interface StateChangeEvent {
  type:
    | 'replica-unhealthy'
    | 'replica-recovered'
    | 'replica-lagging'
    | 'replica-caught-up'
    | 'member-promoted'
    | 'member-demoted'
    | 'failover'
    | 'primary-unreachable'
    | 'primary-reachable'
    | 'primary-changed'
    | 'split-brain'
  level: 'info' | 'warn' | 'error'
  /** The member, named by the config it came in: `primary`, `replica_0`, … */
  node: string
  /** host:port */
  address: string
  message: string
  /** ISO-8601 */
  time: string
}

/** A statement that took at least `slowQueryMs`. Never a parameter value: the text is the fingerprint. */
export interface SlowQueryEvent {
  type: 'slow-query'
  level: 'warn'
  /** The member that ran it; '' when none did (e.g. no primary came). */
  node: string
  address: string
  message: string
  time: string
  fingerprint: string
  durationMs: number
  route: StatementRoute
  reason: RouteReason | 'client'
  rowCount: number
}

/** Where a statement ran: routed to a replica or the primary, or on a held connection (getClient, a pinned manager.pg client). */
export type StatementRoute = 'replica' | 'primary' | 'client'

/** One fingerprint's stats (`getQueryStats()`). Times in milliseconds; percentiles within ±6%. */
export interface StatementStats {
  /** 16 hex digits: the fingerprint's hash. */
  id: string
  /** The statement with literals, IN lists and row lists normalized: never a value. */
  fingerprint: string
  calls: number
  errors: number
  /** Rows returned or affected. */
  rows: number
  totalTimeMs: number
  meanTimeMs: number
  maxTimeMs: number
  p50TimeMs: number
  p99TimeMs: number
  /** The latest call's route and reason. */
  route: StatementRoute
  reason: RouteReason | 'client'
  /** Calls per member that ran them. */
  members: Record<string, number>
  /** Calls that failed over from a replica to another member. */
  failovers: number
}

/**
 * What subscribers of `diagnostics_channel.tracingChannel('read-replica-manager:query')` get as
 * the context of each statement (filled in before asyncStart; `error` set on failure).
 */
export interface QueryTraceContext {
  query: string | null
  /** 'reject' for transaction control sent to `query()`; null when it was never routed (a closed manager). */
  route: StatementRoute | 'reject' | null
  reason: RouteReason | 'client' | null
  member: { name: string; host: string; port: number; role: 'primary' | 'replica' } | null
  rowCount: number | null
  failover: { from: string } | null
  result?: unknown
  error?: unknown
}

export type RouteReason =
  | 'select'
  | 'cte-read'
  | 'show'
  | 'explain'
  | 'multi-statement-read'
  | 'write'
  | 'data-modifying-cte'
  | 'locking-clause'
  | 'select-into'
  | 'write-function'
  | 'explain-analyze-write'
  | 'multi-statement-write'
  | 'unrecognised'
  | 'empty'
  | 'transaction-control'
  | 'override-primary'
  | 'override-replica'

export interface Classification {
  route: 'replica' | 'primary' | 'reject'
  reason: RouteReason
}

export type Consistency = 'eventual' | 'read-your-writes' | 'strong'

export interface QueryOptions {
  /** Overrides the router for this statement. */
  route?: 'primary' | 'replica'
  /** What this read may see; defaults to 'read-your-writes' in a session, else options.consistency. */
  consistency?: Consistency
  /** Read only where this WAL position (a lastWriteLsn() token) has been replayed. */
  minLsn?: string
}

/** `manager.cursor()` options: query()'s, and how many rows each batch carries. */
export interface CursorOptions extends QueryOptions {
  /** Rows per batch for `for await`, and read()'s default; an integer from 1 to 2³¹−1. 100. */
  batchSize?: number
  /** Rows as arrays, as with a query config's `rowMode`. */
  rowMode?: 'array'
}

/** `client.cursor()` options (a client does not route). */
export interface ClientCursorOptions {
  /** Rows per batch for `for await`, and read()'s default; an integer from 1 to 2³¹−1. 100. */
  batchSize?: number
  rowMode?: 'array'
}

/**
 * The rows of one statement a batch at a time, on one connection and in one transaction, with
 * no more than a batch held on either side: iterate it with `for await` (leaving the loop early
 * closes it), or use read(n) and close() as pg-cursor's. It holds a pooled connection from its
 * first read until the rows run out, close(), an error, or the manager closing; one that is
 * garbage-collected unclosed gives it back then.
 */
export declare class Cursor<R = any> {
  private constructor()
  /** The statement's fields, once the first read has answered; null before. */
  readonly fields: FieldDef[] | null
  /**
   * Up to `rows` more rows (default: the batch size); `[]` once they have run out or the cursor
   * is closed. An error rejects this read and every later one. `ERR_INVALID_ARG_TYPE` unless
   * `rows` is an integer from 1 to 2³¹−1.
   */
  read(rows?: number): Promise<R[]>
  /** Ends the cursor (its transaction commits) and gives its connection back. */
  close(): Promise<void>
  [Symbol.asyncIterator](): AsyncGenerator<R, void, undefined>
}

/** node-postgres's query config object. */
export interface QueryConfig {
  text: string
  values?: unknown[]
  rowMode?: 'array'
  name?: string
}

/** node-postgres's `FieldDef`. */
export interface FieldDef {
  name: string
  tableID: number
  columnID: number
  dataTypeID: number
  dataTypeSize: number
  dataTypeModifier: number
  format: 'text'
}

/** node-postgres's `QueryResult`. */
export interface QueryResult<R = any> {
  command: string
  rowCount: number | null
  oid: number | null
  rows: R[]
  fields: FieldDef[]
  rowAsArray: boolean
}

/**
 * The `code` of an error the manager itself raises (README, "Errors"):
 * - `ERR_INVALID_ARG_TYPE` (TypeError): a call's argument is invalid;
 * - `ERR_INVALID_ARG_VALUE` (TypeError): query text or values the protocol cannot carry (a NUL byte);
 * - `ERR_RRM_CONFIG` (TypeError): a config field or option value is invalid;
 * - `ERR_RRM_ENV` (TypeError): an environment variable is missing or malformed;
 * - `ERR_RRM_CLOSED`: the manager is closed;
 * - `ERR_RRM_CLIENT_RELEASED`: a query on a released client, or a second `release()`;
 * - `ERR_RRM_NOT_INITIALIZED`: `getReadReplicaManager()` before initialization;
 * - `ERR_RRM_TRANSACTION_CONTROL`: BEGIN / COMMIT / … through `manager.query()`;
 * - `ERR_RRM_UNSUPPORTED` (TypeError): COPY … FROM STDIN / TO STDOUT or a pg Submittable
 *   (pg-cursor, pg-query-stream) through `query()`;
 * - `ERR_RRM_NO_PRIMARY`: no member was primary for the whole of `connectionTimeoutMillis`;
 * - `ERR_RRM_OUTCOME_UNKNOWN`: a write's connection broke after it was sent (not run again).
 */
export type ManagerErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_RRM_CONFIG'
  | 'ERR_RRM_ENV'
  | 'ERR_RRM_CLOSED'
  | 'ERR_RRM_CLIENT_RELEASED'
  | 'ERR_RRM_NOT_INITIALIZED'
  | 'ERR_RRM_TRANSACTION_CONTROL'
  | 'ERR_RRM_UNSUPPORTED'
  | 'ERR_RRM_NO_PRIMARY'
  | 'ERR_RRM_OUTCOME_UNKNOWN'

/** An error the manager itself raises (as opposed to a server's or a connection's). */
export interface ManagerError extends Error {
  code: ManagerErrorCode
}

/** A SQL error from the server carries node-postgres's DatabaseError fields. */
export interface DatabaseError extends Error {
  name: 'error'
  severity: string
  /** SQLSTATE, e.g. '23505'; connection failures carry 'ECONNREFUSED' and the like. */
  code: string
  detail?: string
  hint?: string
  position?: string
  internalPosition?: string
  internalQuery?: string
  where?: string
  schema?: string
  table?: string
  column?: string
  dataType?: string
  constraint?: string
  file?: string
  line?: string
  routine?: string
}

export interface ReplicaStatus {
  host: string
  port: number
  database: string
  healthy: boolean
  /** ISO-8601, null before the first check. */
  lastHealthCheck: string | null
  failureCount: number
  /** Milliseconds the last passing check took; null before one passed. */
  responseTime: number | null
  /** What the last passing check found: 'primary' for a promoted member (it takes the writes). */
  role: 'replica' | 'primary' | null
  /** Claims to be primary but another member won (split brain): serves nothing. */
  fenced: boolean
  replicationLagBytes: number | null
  replicationLagMs: number | null
  /** Behind by more than maxReplicationLagMs / maxReplicationLagBytes. */
  lagging: boolean
  /** Healthy, still a standby and not lagging: reads go here. */
  eligible: boolean
  /** Statements this member ran. */
  queries: number
  /** Of those, statements that shared a busy connection with others (pipelineDepth, briskDepth). */
  pipelined: number
}

/** The member that takes the writes now; every field null (and `reachable` false) while none does. */
export interface PrimaryStatus {
  /** `primary`, `replica_0`, …: the config it came in. */
  name: string | null
  host: string | null
  port: number | null
  database: string | null
  reachable: boolean
  role: 'primary' | null
  lastHealthCheck: string | null
  /** The timeline it writes on. */
  timeline: number | null
  /** Statements this member ran (null while no member takes the writes). */
  queries: number | null
  /** Of those, statements that shared a busy connection with others (null while no member takes the writes). */
  pipelined: number | null
}

export interface Metrics {
  readQueries: number
  writeQueries: number
  replicaFailovers: number
  healthCheckFailures: number
  replicaCount: number
  replicaStatus: Record<string, ReplicaStatus>
  /** Reads a replica refused as writes (SQLSTATE 25006), then run on the primary. */
  misroutedReads: number
  /** Times another member became the primary (switchover, failover). */
  primaryChanges: number
  /** Reads sent to the primary for consistency (no replica had replayed the session's writes in time, or 'strong'). */
  consistencyPrimaryReads: number
  /** Reads that asked a replica for its replay position (and waited if it was behind). */
  causalWaits: number
  /** Statements routed, by reason. */
  routes: Record<RouteReason, number>
  primary: PrimaryStatus
  /** The statement stats' table: null when `queryStatsSize` is 0. */
  queryStats: { fingerprints: number; capacity: number; evicted: number; since: string } | null
}

/** A dedicated connection; statements run as given (no routing), transactions allowed. */
export declare class Client {
  private constructor()
  /**
   * Runs `text` on this connection. Rejects with `ERR_RRM_CLIENT_RELEASED` after `release()`,
   * `ERR_INVALID_ARG_TYPE` on a bad argument, or the server's `DatabaseError`.
   */
  query<R = any>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>>
  /**
   * A cursor over the rows of `text` on this connection: inside the transaction the client has
   * open, else in one of its own until the cursor ends. It runs after the queries issued before
   * it; those issued after it wait until it ends. Throws `ERR_INVALID_ARG_TYPE` on a bad argument.
   */
  cursor<R = any>(text: string | QueryConfig, values?: unknown[], options?: ClientCursorOptions): Cursor<R>
  /**
   * Back to the pool (open cursors are closed first); with an error (or true) the connection is closed instead. A second call
   * throws pg-pool's error, with code `ERR_RRM_CLIENT_RELEASED`.
   */
  release(err?: Error | boolean): void
}

/** A type parser: the text pg's text protocol gives for a value → its JS value. */
export type TypeParser = (text: string) => any

/** Anything with node-postgres's `getTypeParser` (a TypeOverrides, `manager.pg.types`, a per-query object). */
export interface TypeParserSource {
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser
}

/** node-postgres's query config, as `manager.pg` takes it. */
export interface PgQueryConfig extends QueryConfig {
  /** Parsers for this query's results. */
  types?: TypeParserSource
}

export type PgCallback<R> = (err: Error | null | undefined, result: R) => void

/** What a node-postgres `query()` takes: `(text | config, values?, callback?)`. */
export interface PgQueryable {
  query<R = any>(text: string | PgQueryConfig, values?: unknown[]): Promise<QueryResult<R>>
  query<R = any>(text: string | PgQueryConfig, callback: PgCallback<QueryResult<R>>): void
  query<R = any>(text: string | PgQueryConfig, values: unknown[], callback: PgCallback<QueryResult<R>>): void
}

/** pg's client config as `manager.pg` reads it: `types` is honoured; the connection keys are the manager's. */
export interface PgClientConfig {
  types?: TypeParserSource
  [key: string]: unknown
}

/** pg's pool config as `manager.pg` reads it: `types` is honoured; connection keys and sizing are the manager's. */
export interface PgPoolConfig extends PgClientConfig {
  max?: number
  idleTimeoutMillis?: number
}

/**
 * node-postgres's Client, bound to a manager: a routing session. Outside a transaction each
 * statement is routed as `manager.query` routes it; a transaction (or LISTEN, a temporary table,
 * PREPARE, a session advisory lock) holds one connection; session settings follow it.
 */
export declare class PgClient extends EventEmitter implements PgQueryable {
  constructor(config?: PgClientConfig)
  /** A key no backend has: `pg_cancel_backend(processID)` cancels nothing by mistake. */
  readonly processID: number
  readonly connection: EventEmitter
  connect(): Promise<PgClient>
  connect(callback: (err: Error | null | undefined) => void): void
  query<R = any>(text: string | PgQueryConfig, values?: unknown[]): Promise<QueryResult<R>>
  query<R = any>(text: string | PgQueryConfig, callback: PgCallback<QueryResult<R>>): void
  query<R = any>(text: string | PgQueryConfig, values: unknown[], callback: PgCallback<QueryResult<R>>): void
  end(): Promise<void>
  end(callback: (err?: Error) => void): void
  /**
   * A cursor over the rows of `text`: on the connection the client holds inside a transaction,
   * else routed as `manager.cursor()` routes it. A pg-cursor given to `query()` is served by it.
   */
  cursor<R = any>(text: string | QueryConfig, values?: unknown[], options?: ClientCursorOptions): Cursor<R>
  setTypeParser(oid: number, format: 'text' | 'binary' | TypeParser, parser?: TypeParser): void
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser
  escapeIdentifier(str: string): string
  escapeLiteral(str: string): string
}

/** A client checked out of a `manager.pg.Pool`. */
export interface PgPoolClient extends PgClient {
  /** pg-pool's release: with an error (or true) the client is removed; a second call throws. */
  release(err?: Error | boolean): void
}

/** node-postgres's Pool, bound to a manager; events `connect`, `acquire`, `release`, `remove`, `error`. */
export declare class PgPool extends EventEmitter implements PgQueryable {
  constructor(config?: PgPoolConfig)
  readonly options: PgPoolConfig
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  readonly ending: boolean
  readonly ended: boolean
  connect(): Promise<PgPoolClient>
  connect(
    callback: (err: Error | undefined, client: PgPoolClient, release: (err?: Error | boolean) => void) => void,
  ): void
  query<R = any>(text: string | PgQueryConfig, values?: unknown[]): Promise<QueryResult<R>>
  query<R = any>(text: string | PgQueryConfig, callback: PgCallback<QueryResult<R>>): void
  query<R = any>(text: string | PgQueryConfig, values: unknown[], callback: PgCallback<QueryResult<R>>): void
  end(): Promise<void>
  end(callback: (err?: Error) => void): void
}

/** node-postgres's TypeOverrides: parsers of its own over a fallback (by default `manager.pg.types`). */
export declare class PgTypeOverrides implements TypeParserSource {
  constructor(types?: TypeParserSource)
  setTypeParser(oid: number, format: 'text' | 'binary' | TypeParser, parser?: TypeParser): void
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser
}

/**
 * `manager.pg`: shaped like the node-postgres module, bound to one manager. With `@types/pg`
 * installed, `manager.pg as unknown as typeof import('pg')` types it for libraries typed against pg.
 */
export interface PgModule {
  Pool: typeof PgPool
  Client: typeof PgClient
  types: TypeParserSource & {
    setTypeParser(oid: number, format: 'text' | 'binary' | TypeParser, parser?: TypeParser): void
    arrayParser: { create(source: string, transform?: TypeParser): { parse(): any[] } }
    builtins: Record<string, number>
  }
  TypeOverrides: typeof PgTypeOverrides
  /** pg's defaults; setting `parseInt8` makes int8 (and int8[]) numbers, as in pg. */
  defaults: Record<string, unknown> & { parseInt8: boolean }
  DatabaseError: new (...args: any[]) => DatabaseError
  escapeIdentifier(str: string): string
  escapeLiteral(str: string): string
  native: null
}

export declare class ReadReplicaManager {
  private constructor()
  /** node-postgres's module bound to this manager, for ORMs and pg code: README, "ORMs and node-postgres code". */
  readonly pg: PgModule
  /**
   * Routes and runs `text`. Rejects with `ERR_INVALID_ARG_TYPE` on a bad argument,
   * `ERR_RRM_CLOSED` after close(), `ERR_RRM_TRANSACTION_CONTROL` for BEGIN / COMMIT / …, or
   * the server's `DatabaseError` / a connection error.
   */
  query<R = any>(text: string | QueryConfig, values?: unknown[], options?: QueryOptions): Promise<QueryResult<R>>
  /**
   * A cursor over the rows of `text`, routed as query() routes it (a read on a replica, in a
   * read-only transaction; a write or a locking read on the primary). Nothing runs before the
   * first read. Throws `ERR_INVALID_ARG_TYPE` on a bad argument; reads reject with query()'s
   * errors, and `ERR_RRM_CLOSED` once the manager is closed.
   */
  cursor<R = any>(text: string | QueryConfig, values?: unknown[], options?: CursorOptions): Cursor<R>
  /**
   * A dedicated connection. Rejects with `ERR_INVALID_ARG_TYPE` on a bad kind, `ERR_RRM_CLOSED`
   * after close().
   */
  getClient(kind?: 'read' | 'write'): Promise<Client>
  /** Where this manager would send `sql`, and why. Throws `ERR_INVALID_ARG_TYPE` unless `sql` is a string. */
  classifyQuery(sql: string): Classification
  /**
   * Runs `fn` in a read-your-writes session (optionally from a token of an earlier request).
   * Rejects with `ERR_INVALID_ARG_TYPE` when `fn` is not a function or `minLsn` not a WAL position.
   */
  withSession<T>(fn: () => T | Promise<T>, options?: { minLsn?: string | null }): Promise<T>
  /** Express middleware: one read-your-writes session per request. */
  sessionMiddleware(): (req: unknown, res: unknown, next: () => void) => void
  /** The WAL position of the current session's last write (a token for minLsn), or null. */
  lastWriteLsn(): string | null
  /** Every metric in Prometheus's text exposition format. */
  getPrometheusMetrics(): string
  /**
   * Statement stats, one entry per fingerprint, by total time (most first); at most `limit`.
   * Empty when `queryStatsSize` is 0. Throws `ERR_INVALID_ARG_TYPE` on a bad limit.
   */
  getQueryStats(options?: { limit?: number }): StatementStats[]
  /** Forgets the statement stats. */
  resetQueryStats(): void
  /** The latest state-change events (at most 100, oldest first). */
  getRecentEvents(): StateChangeEvent[]
  getReplicaStatus(): Record<string, ReplicaStatus>
  getMetrics(): Metrics
  /**
   * Takes no new work (later calls reject with `ERR_RRM_CLOSED`), waits up to `timeoutMs` (10 s)
   * for queries in flight, then closes the pools.
   */
  close(timeoutMs?: number): Promise<void>
}

/**
 * Where the router sends `sql`, and why. No connection is made. Throws `ERR_INVALID_ARG_TYPE` on a
 * bad argument.
 */
export declare function classifyQuery(
  sql: string,
  options?: { writeFunctions?: string[]; readOnlyFunctions?: string[] },
): Classification

/**
 * Creates the manager (a singleton: a second call resolves to the same one) after a first health
 * check of every replica. Rejects with a TypeError naming the problem: `ERR_INVALID_ARG_TYPE`
 * when a config or the options are not objects (or `logger` / `onEvent` are unusable),
 * `ERR_RRM_CONFIG` for an invalid field or option value (naming the config and the key),
 * `ERR_RRM_ENV` for a malformed `DB_POOL_*` / `REPLICA_HEALTH_CHECK_INTERVAL` variable.
 */
export declare function initializeReadReplicaManager(
  primaryConfig: NodeConfig,
  replicaConfigs?: NodeConfig[],
  options?: ManagerOptions,
): Promise<ReadReplicaManager>

/**
 * Initializes from the guide's environment: DATABASE_URL or DB_HOST / DB_PORT / DB_NAME /
 * DB_USER / DB_PASSWORD, DB_REPLICAS (JSON array), REPLICA_HEALTH_CHECK_INTERVAL, DB_POOL_*.
 * A missing or malformed variable rejects with a TypeError naming it, code `ERR_RRM_ENV`.
 */
export declare function initializeReadReplicaManagerFromEnv(options?: ManagerOptions): Promise<ReadReplicaManager>

/**
 * Throws `Error('Read replica manager not initialized')` (code `ERR_RRM_NOT_INITIALIZED`) before
 * initialization.
 */
export declare function getReadReplicaManager(): ReadReplicaManager

export declare function closeReadReplicaManager(timeoutMs?: number): Promise<void>

/** Minimal request/response shapes the Express handlers use (Express's own types fit). */
export interface HandlerResponse {
  status(code: number): HandlerResponse
  json(body: unknown): unknown
  type(contentType: string): HandlerResponse
  send(body: string): unknown
}

/**
 * The guide's `/health/replicas` route. With `{ strict: true }` it answers 503 (`status:
 * 'degraded'`) when the primary is unreachable or no replica can serve reads.
 */
export declare function healthCheckHandler(options?: { strict?: boolean }): (req: unknown, res: HandlerResponse) => void

/** A `/metrics` route in Prometheus's text exposition format. */
export declare function metricsHandler(): (req: unknown, res: HandlerResponse) => void

/**
 * One member on the dashboard: `getReplicaStatus()`'s fields, or `getMetrics().primary`'s for the
 * writer the status leaves out (its lag, response time and failed checks null); while no member
 * is primary, the writer last seen stands in, unhealthy, its counts null.
 */
export interface DashboardMember {
  /** `primary`, `replica_0`, …: the config it came in. */
  name: string
  host: string | null
  port: number | null
  role: 'primary' | 'replica' | null
  /** The member writes go to now. */
  writer: boolean
  healthy: boolean
  eligible: boolean
  lagging: boolean
  fenced: boolean
  replicationLagMs: number | null
  replicationLagBytes: number | null
  responseTime: number | null
  failureCount: number | null
  lastHealthCheck: string | null
  /** Statements it served (cumulative): `ReplicaStatus.queries`, `PrimaryStatus.queries`. */
  queries: number | null
}

/** One sample of the dashboard's history, taken every 2 s: the counters its rates are drawn from. */
export interface DashboardSample {
  /** Milliseconds since the epoch. */
  t: number
  readQueries: number
  writeQueries: number
  members: Record<string, { queries: number | null; healthy: boolean }>
}

/** What the dashboard page polls (`?format=json`). */
export interface DashboardData {
  status: 'ok'
  /** ISO-8601 */
  generatedAt: string
  intervalMs: number
  windowMs: number
  /** Changes when the manager does (its history starts afresh); `?history=<id>&since=<t>` asks for newer samples only. */
  historyId: string
  members: DashboardMember[]
  /** `getMetrics()` without `replicaStatus` (its members are `members`). */
  metrics: Omit<Metrics, 'replicaStatus'>
  /** The last 15 minutes. */
  history: DashboardSample[]
  /** `getRecentEvents()`: the last 100 state changes, oldest first. */
  events: StateChangeEvent[]
  /** `getQueryStats({ limit: 10 })`: the top 10 statements by total time (empty when `queryStatsSize` is 0). */
  statements: StatementStats[]
}

/**
 * A live dashboard: GET → a self-contained HTML page (members, query rates, a timeline, the top
 * statements); GET `?format=json` → `DashboardData` (503 `{ status: 'unavailable', error }` before
 * initialization). For `app.use('/dashboard', dashboardHandler())` or `http.createServer`.
 */
export declare function dashboardHandler(): (req: IncomingMessage, res: ServerResponse) => void
