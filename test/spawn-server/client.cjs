// Starts the processes a jest worker spawns through a small helper process (server.mjs), instead of forking the
// worker itself. Jest workers hold 200-900 MB (each test file's modules stay in the worker), and forking such a process
// costs 20-130 ms of CPU in page-table copies and the page faults that follow, against about 3 ms from a small one:
// 4,200 git and lora processes started from the workers took 165 s of the suite's CPU inside `spawn` (measured
// 2026-12-03, 2 cores, Node 20.20). The processes are the same programs with the same arguments, environment, working
// folder, umask and stdio; only their parent differs. Installed once per worker by test/jest-environment.cjs.
//
// Routed: `ChildProcess.prototype.spawn` (spawn, execFile, exec and the libraries built on them, such as simple-git)
// and the spawn_sync binding's `spawn` (spawnSync, execFileSync, execSync), only for stdio of 'pipe', 'ignore' and
// 'inherit' on fds 0-2 without IPC, uid or gid. Everything else, and any spawn the server cannot do (it then answers
// with an error), goes the usual way, so errors such as ENOENT are Node's own. The worker's ends of the child's stdio are FIFOs opened into the same Pipe
// handles Node would have connected, so the rest of Node's spawn (sockets, 'exit' and 'close' events) runs unchanged;
// 'exit' comes from the server's IPC message, given to the handle's own onexit.
'use strict'
const cp = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const KEY = Symbol.for('lora.test.spawnServer')
const {O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK} = fs.constants
/** How long a spawn waits for the server before starting the process itself (a stalled server). */
const REPLY_TIMEOUT_MS = 30_000

function install() {
  if (cp.ChildProcess[KEY] || process.platform !== 'linux' || process.env.LORA_TEST_SPAWN_SERVER === '0') return
  const state = {ready: false, dead: false, nextId: 1, live: new Map(), server: undefined, requestFd: -1, replyFd: -1}
  cp.ChildProcess[KEY] = state
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-spawn-server-'))
  const requestPath = path.join(folder, 'request')
  const replyPath = path.join(folder, 'reply')
  try {
    cp.execFileSync('mkfifo', ['-m', '600', requestPath, replyPath])
  } catch {
    state.dead = true
    return
  }
  const env = {...process.env}
  delete env.NODE_OPTIONS
  const server = cp.spawn(process.execPath, [path.join(__dirname, 'server.mjs'), requestPath, replyPath, folder], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  })
  state.server = server
  server.unref()
  server.channel.unref()
  server.on('error', () => (state.dead = true))
  server.on('exit', () => (state.dead = true))
  server.on('message', (message) => {
    if (message.ready) {
      state.requestFd = fs.openSync(requestPath, O_RDWR)
      state.replyFd = fs.openSync(replyPath, O_RDONLY | O_NONBLOCK)
      state.ready = true
      return
    }
    const handle = state.live.get(message.pid)
    if (!handle) return
    state.live.delete(message.pid)
    refChannel()
    handle.onexit(message.code, message.signal)
  })
  /**
   * The channel holds the worker's event loop open while a started process that is ref'd (Node's default; `unref()`
   * lets go) has not exited, as that process's own handle would.
   */
  function refChannel() {
    if ([...state.live.values()].some((handle) => handle.refed)) server.channel.ref()
    else server.channel.unref()
  }

  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  /** Sends `message` and waits for the server's reply (synchronously, as a fork would block); undefined if it died. */
  function ask(message) {
    const line = Buffer.from(JSON.stringify(message) + '\n')
    for (let off = 0; off < line.length;) off += fs.writeSync(state.requestFd, line, off)
    if (message.op === 'ack') return undefined
    const chunks = []
    const buffer = Buffer.alloc(65536)
    // A spawnSync waits as long as its process runs; only a dead server (end of file) stops it.
    const deadline = message.op === 'spawn' ? Date.now() + REPLY_TIMEOUT_MS : Infinity
    // Polled: 0.05 ms naps at first (a spawn is answered in a few ms), growing to 5 ms (a long spawnSync).
    let nap = 0.05
    for (;;) {
      let n
      try {
        n = fs.readSync(state.replyFd, buffer)
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error
        if (Date.now() > deadline) break
        Atomics.wait(sleeper, 0, 0, nap)
        nap = Math.min(nap * 2, 5)
        continue
      }
      if (n === 0) break
      chunks.push(Buffer.from(buffer.subarray(0, n)))
      if (buffer[n - 1] === 0x0a) return JSON.parse(Buffer.concat(chunks).toString())
    }
    state.dead = true
    return undefined
  }

  /** What the server starts: stdio types for fds 0-2, or undefined when this spawn goes the usual way. */
  function stdioTypes(options) {
    const stdio = options.stdio
    if (!Array.isArray(stdio) || stdio.length > 3 || options.uid !== undefined || options.gid !== undefined) return
    const types = []
    for (let i = 0; i < stdio.length; i++) {
      const s = stdio[i]
      // (An async spawn's pipe carries the Pipe handle Node made for it; a spawnSync's has none.)
      if (s.type === 'pipe' && !s.ipc) types.push('pipe')
      else if (s.type === 'ignore') types.push('ignore')
      else if (s.type === 'inherit' || (s.type === 'fd' && s.fd === i)) types.push('inherit')
      else return
    }
    return types
  }

  /** Stands in for the child's Process handle: spawned by the server, signalled by pid, exit from the server. */
  class RemoteProcess {
    constructor(real, owner) {
      this.real = real
      this.owner = owner
      this.onexit = real.onexit
      this.pid = 0
      this.refed = true
    }
    spawn(options) {
      const types = stdioTypes(options)
      let umask = 0o022
      umask = process.umask(umask)
      process.umask(umask)
      const answer =
        types &&
        ask({
          op: 'spawn',
          id: state.nextId++,
          file: options.file,
          args: options.args ?? [options.file],
          cwd: options.cwd ?? process.cwd(),
          env: options.envPairs ?? Object.entries(process.env).map(([k, v]) => `${k}=${v}`),
          detached: Boolean(options.detached),
          umask,
          stdio: types,
        })
      if (!answer || answer.error) {
        this.owner._handle = this.real
        return this.real.spawn(options)
      }
      for (let i = 0; i < types.length; i++) {
        if (types[i] !== 'pipe') continue
        const fd = fs.openSync(answer.paths[i], (i === 0 ? O_WRONLY : O_RDONLY) | O_NONBLOCK)
        const err = options.stdio[i].handle.open(fd)
        if (err) throw new Error(`spawn server: could not open the stdio pipe ${i} (${err})`)
      }
      ask({op: 'ack', id: answer.id})
      this.pid = answer.pid
      state.live.set(answer.pid, this)
      refChannel()
      return 0
    }
    kill(signal) {
      try {
        process.kill(this.pid, signal)
        return 0
      } catch (error) {
        return typeof error.errno === 'number' ? error.errno : -1
      }
    }
    close() {}
    ref() {
      this.refed = true
      refChannel()
    }
    unref() {
      this.refed = false
      refChannel()
    }
    hasRef() {
      return this.refed
    }
  }

  /** `options` with every Buffer or typed array (stdio[0].input) as `{base64}`, for JSON. */
  function encodeBuffers(value) {
    if (ArrayBuffer.isView(value))
      return {base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}
    if (Array.isArray(value)) return value.map(encodeBuffers)
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeBuffers(v)]))
    return value
  }

  // The synchronous functions (spawnSync, execFileSync, execSync) all end in the spawn_sync binding's `spawn(options)`
  // (Node's lib/child_process.js), which returns `{pid, status, signal, output, error}`: the server makes the same call
  // with the same options and sends back the result.
  const syncBinding = process.binding('spawn_sync')
  const originalSync = syncBinding.spawn
  syncBinding.spawn = function spawn(options) {
    if (!state.ready || state.dead || !stdioTypes(options)) return originalSync.call(this, options)
    let umask = 0o022
    umask = process.umask(umask)
    process.umask(umask)
    const answer = ask({
      op: 'spawnSync',
      id: state.nextId++,
      umask,
      options: encodeBuffers({...options, cwd: options.cwd ?? process.cwd()}),
    })
    if (!answer || answer.error) return originalSync.call(this, options)
    const result = answer.result
    if (result.output) result.output = result.output.map((o) => (o === null ? null : Buffer.from(o.base64, 'base64')))
    return result
  }

  const original = cp.ChildProcess.prototype.spawn
  cp.ChildProcess.prototype.spawn = function spawn(options) {
    if (state.ready && !state.dead && this._handle && typeof this._handle.onexit === 'function')
      this._handle = new RemoteProcess(this._handle, this)
    return original.call(this, options)
  }
}

module.exports = {install}
