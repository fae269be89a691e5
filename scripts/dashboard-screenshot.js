'use strict'
// Takes docs/dashboard.png: drives traffic through the running example app (`npm run demo`), stops
// and restarts a replica of the local cluster on the way (--stop), then photographs the app's
// /dashboard in Debian's headless Chromium (puppeteer-core).
//
//   node scripts/dashboard-screenshot.js [--url http://127.0.0.1:3000] [--out docs/dashboard.png]
//        [--seconds 90] [--stop replica_1] [--dark] [--width 1280]

const path = require('node:path')
const { parseArgs } = require('node:util')
const { cluster, clusterStatus } = require('./cluster')

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    out: { type: 'string', default: path.join(__dirname, '..', 'docs', 'dashboard.png') },
    seconds: { type: 'string', default: '90' },
    stop: { type: 'string' },
    dark: { type: 'boolean', default: false },
    width: { type: 'string', default: '1280' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
})
const seconds = Number(args.seconds)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** The example app's own routes, a few requests at a time: writes, reads, read-after-write both ways. */
function traffic(url) {
  const load = { running: true, requests: 0, failed: 0 }
  const post = (route, name) =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"name":"${name}"}`,
    })
  const worker = async (i) => {
    while (load.running) {
      try {
        const res = await [
          () => post('/users/write-then-read', 'ada'),
          () => post('/users/write-then-read?session=off', 'grace'),
          () => fetch(`${url}/users/${1 + Math.floor(Math.random() * 50)}`),
          () => fetch(`${url}/users/${1 + Math.floor(Math.random() * 50)}`),
        ][(load.requests + i) % 4]()
        await res.arrayBuffer()
        load.requests++
      } catch {
        load.failed++
      }
      await sleep(20 + Math.random() * 30)
    }
  }
  load.done = Promise.all(Array.from({ length: 4 }, (_, i) => worker(i)))
  return load
}

async function main() {
  const puppeteer = require('puppeteer-core')
  const dashboard = `${args.url}/dashboard`
  const probe = await fetch(`${dashboard}?format=json`).catch((err) => err)
  if (!(probe instanceof Response) || !probe.ok) {
    throw new Error(`no dashboard answering at ${dashboard} (start the demo: npm run demo)`)
  }

  const load = traffic(args.url)
  const stopped = args.stop && clusterStatus()[args.stop]?.running ? args.stop : null
  try {
    await sleep((seconds / 4) * 1000)
    if (stopped) {
      console.log(`stopping ${stopped}…`)
      cluster('stop-node', stopped)
      await sleep((seconds / 5) * 1000)
      console.log(`starting ${stopped}…`)
      cluster('start-node', stopped)
    }
    await sleep(Math.max(0, seconds - (seconds / 4 + (stopped ? seconds / 5 : 0))) * 1000)
  } finally {
    if (stopped && !clusterStatus()[stopped].running) cluster('start-node', stopped)
  }

  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  })
  try {
    const page = await browser.newPage()
    await page.setViewport({ width: Number(args.width), height: 900, deviceScaleFactor: 1 })
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: args.dark ? 'dark' : 'light' }])
    await page.goto(dashboard)
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', { timeout: 10_000 })
    await sleep(500)
    await page.screenshot({ path: args.out, fullPage: true })
  } finally {
    await browser.close()
    load.running = false
    await load.done
  }
  console.log(`${args.out} (${load.requests} requests, ${load.failed} failed)`)
}

main().catch((err) => {
  console.error(err.message)
  process.exit(1)
})
