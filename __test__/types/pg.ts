// manager.pg as a TypeScript user of node-postgres's API writes against it: it must compile under
// --strict (README, "ORMs and node-postgres code").
import { initializeReadReplicaManager, type PgPoolClient, type QueryResult } from 'read-replica-manager'

export async function pgApi(): Promise<void> {
  const manager = await initializeReadReplicaManager({ host: 'localhost', port: 5432 })
  const { Pool, Client, types, TypeOverrides, defaults } = manager.pg
  defaults.parseInt8 = true
  types.setTypeParser(1700, parseFloat)
  const overrides = new TypeOverrides()
  overrides.setTypeParser(1184, 'text', (text: string) => text)
  const pool = new Pool({ max: 20, types: overrides })
  pool.on('error', (err: Error) => console.error(err))
  const result: QueryResult<{ id: number }> = await pool.query<{ id: number }>('SELECT $1::int AS id', [1])
  console.log(result.rows[0].id, pool.totalCount, pool.idleCount, pool.waitingCount)
  pool.query('SELECT 1', (err, res) => console.log(err, res.rowCount))
  const client: PgPoolClient = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query({ text: 'INSERT INTO t (a) VALUES ($1)', values: [1], types })
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK')
    throw err
  } finally {
    client.release()
  }
  pool.connect((err, c, release) => {
    if (err) return
    c.query('SELECT 1', [], () => release())
  })
  const standalone = new Client()
  await standalone.connect()
  for await (const row of standalone.cursor<{ n: number }>('SELECT 1 AS n', [], { batchSize: 10 })) console.log(row.n)
  console.log(standalone.processID, manager.pg.escapeIdentifier('a'), manager.pg.escapeLiteral("b'"))
  await standalone.end()
  await pool.end()
}
