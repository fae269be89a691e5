// The guide's samples (docs/guide.md) as a TypeScript user writes them: they must compile under
// --strict.
import express from 'express'
import {
  type Client,
  type Cursor,
  classifyQuery,
  closeReadReplicaManager,
  type DatabaseError,
  type FieldDef,
  getReadReplicaManager,
  initializeReadReplicaManager,
  type Metrics,
  type QueryResult,
  type ReplicaStatus,
} from 'read-replica-manager'

export async function guide(userId: number, userName: string, name: string): Promise<void> {
  const primaryConfig = {
    host: process.env.DB_HOST,
    port: parseInt(process.env.DB_PORT as string),
    database: process.env.DB_NAME,
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
  }

  const replicaConfigs = process.env.DB_REPLICAS ? JSON.parse(process.env.DB_REPLICAS) : []

  const replicaManager = await initializeReadReplicaManager(primaryConfig, replicaConfigs)
  void replicaManager

  const manager = getReadReplicaManager()

  // Read query - automatically routed to replica
  const result = await manager.query('SELECT * FROM users WHERE id = $1', [userId])
  const rows: any[] = result.rows
  void rows

  // Write query - automatically routed to primary
  await manager.query('INSERT INTO users (name) VALUES ($1)', [userName])

  const status: Record<string, ReplicaStatus> = manager.getReplicaStatus()
  const healthy: boolean = status.replica_0.healthy
  const last: string | null = status.replica_0.lastHealthCheck
  void healthy
  void last

  const metrics: Metrics = manager.getMetrics()
  const reads: number = metrics.readQueries
  void reads

  const readClient = await manager.getClient('read')
  try {
    const r = await readClient.query('SELECT * FROM users')
    void r
  } finally {
    readClient.release()
  }

  const writeClient = await manager.getClient('write')
  try {
    await writeClient.query('BEGIN')
    await writeClient.query('INSERT INTO users (name) VALUES ($1)', [name])
    await writeClient.query('COMMIT')
  } catch (error) {
    await writeClient.query('ROLLBACK')
    throw error
  } finally {
    writeClient.release()
  }

  const app = express()
  app.get('/health/replicas', (req, res) => {
    const manager = getReadReplicaManager()
    const status = manager.getReplicaStatus()
    const metrics = manager.getMetrics()

    res.json({
      status: 'ok',
      replicas: status,
      metrics: metrics,
    })
  })

  await closeReadReplicaManager()
}

// Typed results, query configs, array rows, errors and clients.
export async function typed(): Promise<void> {
  const manager = getReadReplicaManager()
  const users: QueryResult<{ id: number; name: string }> = await manager.query<{ id: number; name: string }>(
    'SELECT id, name FROM users',
  )
  const first: string | undefined = users.rows[0]?.name
  const fields: FieldDef[] = users.fields
  const count: number | null = users.rowCount
  void first
  void fields
  void count

  const asArrays = await manager.query({ text: 'SELECT 1, 2', rowMode: 'array' })
  const cell: unknown = asArrays.rows[0][0]
  void cell

  const onPrimary = await manager.query('SELECT 1', [], { route: 'primary' })
  void onPrimary

  try {
    await manager.query('SELECT 1/0')
  } catch (err) {
    const e = err as DatabaseError
    const code: string = e.code
    const detail: string | undefined = e.detail
    void code
    void detail
  }

  // Large results, a batch at a time.
  let total = 0
  for await (const row of manager.cursor<{ n: number }>('SELECT n FROM big', [], { batchSize: 500 })) total += row.n
  const cursor: Cursor<{ n: number }> = manager.cursor('SELECT n FROM big WHERE n > $1', [total], { route: 'primary' })
  const some: { n: number }[] = await cursor.read(10)
  const described: FieldDef[] | null = cursor.fields
  await cursor.close()
  void some
  void described

  const client: Client = await manager.getClient()
  const onClient = client.cursor<{ n: number }>({ text: 'SELECT n FROM big', rowMode: 'array' }, [], { batchSize: 2 })
  await onClient.close()
  client.release(new Error('broken'))
  const route: 'replica' | 'primary' | 'reject' = classifyQuery('SELECT 1').route
  void route
  await initializeReadReplicaManager({ host: 'h' }, [], {
    max: 10,
    healthCheckInterval: 1000,
    writeFunctions: ['audit_event'],
  })
}
