// Member configs as node-postgres takes them compile: password functions, pg's timeouts and
// pool keys; misuse does not.
import { initializeReadReplicaManager, type NodeConfig } from 'read-replica-manager'

declare function fetchToken(host: string): Promise<string>
/** pg's shapes, as far as the config needs them (pg ships no types; @types/pg is not installed). */
declare const pg: { types: { getTypeParser(oid: number, format?: string): unknown }; Client: new () => object }

export async function pgconfig(): Promise<void> {
  const primary: NodeConfig = {
    host: 'primary',
    user: 'app',
    password: async ({ host }) => fetchToken(host),
    statement_timeout: 5000,
    lock_timeout: '1000',
    idle_in_transaction_session_timeout: false,
    application_name: 'api',
    options: '-c search_path=app',
    max: 20,
    idleTimeoutMillis: 30000,
    allowExitOnIdle: true,
    types: pg.types,
    Client: pg.Client,
    Promise,
    log: console.log,
  }
  await initializeReadReplicaManager(primary, [{ host: 'replica', password: () => 'static-token' }])
  // @ts-expect-error a password function gives a string
  await initializeReadReplicaManager({ host: 'h', password: () => 42 })
  // @ts-expect-error statement_timeout is milliseconds
  await initializeReadReplicaManager({ host: 'h', statement_timeout: true })
  // @ts-expect-error max is a number
  await initializeReadReplicaManager({ host: 'h', max: '20' })
}
