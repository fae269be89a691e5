// Misuse that must not compile: each line below is a type error, or tsc fails.
import { getReadReplicaManager, initializeReadReplicaManager } from 'read-replica-manager'

export async function misuse(): Promise<void> {
  const manager = getReadReplicaManager()
  // @ts-expect-error a query needs SQL text or a query config
  await manager.query(123)
  // @ts-expect-error getClient takes 'read' or 'write'
  await manager.getClient('x')
  // @ts-expect-error getMetrics is synchronous, not a Promise
  await manager.getMetrics().then(() => undefined)
  // @ts-expect-error getReplicaStatus is synchronous
  manager.getReplicaStatus().then(() => undefined)
  // @ts-expect-error route is 'primary' or 'replica'
  await manager.query('SELECT 1', [], { route: 'elsewhere' })
  // @ts-expect-error options are numbers
  await initializeReadReplicaManager({ host: 'h' }, [], { healthCheckInterval: '30s' })
  // @ts-expect-error replica configs are an array
  await initializeReadReplicaManager({ host: 'h' }, { host: 'r' })
  // @ts-expect-error batchSize is a number
  manager.cursor('SELECT 1', [], { batchSize: '100' })
  // @ts-expect-error a cursor's read() resolves with rows, not a Result
  ;(await manager.cursor<{ n: number }>('SELECT 1 AS n').read()).rows
  const client = await manager.getClient('write')
  // @ts-expect-error a client does not route
  client.cursor('SELECT 1', [], { route: 'primary' })
  // @ts-expect-error release takes an error or a boolean
  client.release('now')
}
