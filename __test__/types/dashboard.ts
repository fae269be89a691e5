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
  const known: boolean | null = replica?.healthy ?? null
  return data.history.length + (known ? 1 : 0) + (data.sources.statements === null ? 0 : data.statements.length)
}
