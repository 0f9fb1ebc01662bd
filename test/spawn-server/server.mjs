// The spawn server of the test suite (see client.cjs): a small Node process that starts the processes a jest worker
// asks for, so that the worker, whose heap is hundreds of megabytes, does not fork itself for each git or lora
// process it starts. Arguments: the request FIFO, the reply FIFO and a folder for the stdio FIFOs.
//
// Protocol, one JSON object per line:
// - request `{op: 'spawn', id, file, args, cwd, env, detached, umask, stdio}` (stdio: 'pipe' | 'ignore' | 'inherit'
//   for each of fds 0-2): the reply is `{id, pid, paths}` (the FIFO of each piped fd, whose other end the worker
//   opens) or `{id, error}` (the worker then starts the process itself, and so gets Node's own error);
// - request `{op: 'ack', id}` once the worker has opened its ends: the server closes its own;
// - request `{op: 'spawnSync', id, umask, options}` (the options of the spawn_sync binding, Buffers as `{base64}`):
//   the reply is `{id, result}`, the binding's result, run in the server.
// The exit of each process started is sent on the IPC channel: `{pid, code, signal}`.
import {spawn, execFileSync} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import {join} from 'node:path'

const [requestPath, replyPath, folder] = process.argv.slice(2)
const {O_RDWR, O_RDONLY, O_WRONLY, O_NONBLOCK} = fs.constants
const replyFd = fs.openSync(replyPath, O_RDWR)
const requests = new net.Socket({fd: fs.openSync(requestPath, O_RDWR | O_NONBLOCK), readable: true, writable: false})

/**
 * Sends `message` to the worker, unless it is gone: a process it started may exit after it (a killed test run), and
 * sending on a closed channel would throw.
 */
function notify(message) {
  if (process.connected) process.send(message, () => {})
}

/** FIFOs made ahead, 64 at a time (one mkfifo process). */
const fifos = []
let made = 0
function takeFifo() {
  if (fifos.length === 0) {
    const names = Array.from({length: 64}, () => join(folder, `p${made++}`))
    execFileSync('mkfifo', ['-m', '600', ...names])
    fifos.push(...names)
  }
  return fifos.pop()
}

/** The server's ends of the FIFOs of each spawn, kept open until the worker has opened its own. */
const held = new Map()

function reply(message) {
  const line = Buffer.from(JSON.stringify(message) + '\n')
  for (let off = 0; off < line.length;) off += fs.writeSync(replyFd, line, off)
}

function startProcess(request) {
  const holders = []
  const childFds = []
  const paths = []
  const stdio = request.stdio.map((type, i) => {
    if (type !== 'pipe') return type
    const path = takeFifo()
    paths[i] = path
    // The server holds each FIFO open for reading and writing, so that opening the child's end never blocks and
    // nothing written is lost before the worker has opened its end.
    holders.push(fs.openSync(path, O_RDWR))
    const fd = fs.openSync(path, i === 0 ? O_RDONLY : O_WRONLY)
    childFds.push(fd)
    return fd
  })
  const previousUmask = process.umask(request.umask)
  let child
  try {
    child = spawn(request.file, request.args.slice(1), {
      argv0: request.args[0],
      cwd: request.cwd,
      env: Object.fromEntries(
        request.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      ),
      detached: request.detached,
      stdio,
    })
  } catch {
    child = undefined
  } finally {
    process.umask(previousUmask)
    for (const fd of childFds) fs.closeSync(fd)
  }
  if (!child || child.pid === undefined) {
    child?.on('error', () => {})
    for (const fd of holders) fs.closeSync(fd)
    for (const path of paths) if (path) fs.rmSync(path, {force: true})
    reply({id: request.id, error: true})
    return
  }
  const pid = child.pid
  child.on('exit', (code, signal) => notify({pid, code: code ?? 0, signal: signal ?? ''}))
  held.set(request.id, {holders, paths})
  reply({id: request.id, pid, paths})
}

/** `value` with every `{base64}` as a Buffer (the client's encodeBuffers, reversed). */
function decodeBuffers(value) {
  if (Array.isArray(value)) return value.map(decodeBuffers)
  if (value && typeof value === 'object') {
    if (typeof value.base64 === 'string' && Object.keys(value).length === 1) return Buffer.from(value.base64, 'base64')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeBuffers(v)]))
  }
  return value
}

const syncBinding = process.binding('spawn_sync')

/** A spawnSync of the worker's: the same binding call with the same options; the result goes back whole. */
function runProcess(request) {
  const previousUmask = process.umask(request.umask)
  let result
  try {
    result = syncBinding.spawn(decodeBuffers(request.options))
  } catch {
    result = undefined
  } finally {
    process.umask(previousUmask)
  }
  if (!result) {
    reply({id: request.id, error: true})
    return
  }
  if (result.output) result.output = result.output.map((o) => (o ? {base64: Buffer.from(o).toString('base64')} : null))
  reply({id: request.id, result})
}

function acknowledged(request) {
  const entry = held.get(request.id)
  held.delete(request.id)
  if (!entry) return
  for (const fd of entry.holders) fs.closeSync(fd)
  for (const path of entry.paths) if (path) fs.rmSync(path, {force: true})
}

let buffered = ''
requests.on('data', (chunk) => {
  buffered += chunk
  let end
  while ((end = buffered.indexOf('\n')) >= 0) {
    const request = JSON.parse(buffered.slice(0, end))
    buffered = buffered.slice(end + 1)
    if (request.op === 'spawn') startProcess(request)
    else if (request.op === 'spawnSync') runProcess(request)
    else if (request.op === 'ack') acknowledged(request)
  }
})
// The worker is gone: so is the server (the processes it started run on, as they would have), and the FIFOs' folder
// with it, whatever ends the server.
process.on('disconnect', () => process.exit(0))
process.on('exit', () => fs.rmSync(folder, {recursive: true, force: true}))
// A signal to the whole process group (Ctrl-C, or `timeout` ending the run) ends it too, by way of 'exit'.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(1))
notify({ready: true})
