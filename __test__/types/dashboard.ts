// dashboardHandler() as the README mounts it: under Express (app.use / app.get) and on node:http.
import { createServer } from 'node:http'
import express from 'express'
import { type DashboardData, dashboardHandler } from 'read-replica-manager'

const app = express()
app.use('/dashboard', dashboardHandler())
app.get('/dashboard', dashboardHandler())
createServer(dashboardHandler())

export async function poll(url: string): Promise<number> {
  const data = (await (await fetch(`${url}?format=json`)).json()) as DashboardData
  const replica = data.members.find((m) => m.role === 'replica')
  const healthy: boolean = replica?.healthy ?? false
  const served: number = data.history.at(-1)?.members[replica?.name ?? '']?.queries ?? 0
  const unhealthy = data.events.filter((e) => e.type === 'replica-unhealthy' && e.node === replica?.name)
  const p99: number = data.statements[0]?.p99TimeMs ?? 0
  return data.history.length + (healthy ? 1 : 0) + served + unhealthy.length + p99 + data.statements.length
}
