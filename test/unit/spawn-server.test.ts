/**
 * The suite's spawn server (test/spawn-server/client.cjs, installed in every jest worker by test/jest-environment.cjs):
 * the processes a test starts with spawn or execFile are started by the server, not forked from the worker, and behave
 * as Node's own spawn makes them behave: stdin, stdout and stderr, exit codes, signals, kill, the working folder
 * (including after process.chdir), the environment, the umask, detached process groups and Node's error for a missing
 * program; likewise for the synchronous ones (spawnSync, execFileSync, execSync): input, output, exit status, signal,
 * timeout, maxBuffer and Node's errors.
 */
import * as cp from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

const execFile = promisify(cp.execFile)

interface ServerState {
  ready: boolean
  dead: boolean
  server: cp.ChildProcess
}
// client.cjs keeps its state on the ChildProcess class (the test file sees node:child_process through an ESM namespace).
const state = (cp.ChildProcess as unknown as Record<symbol, ServerState | undefined>)[
  Symbol.for('lora.test.spawnServer')
]

/** Resolves when the server has said it is ready (it starts with the worker; a few hundred ms at most). */
async function serverReady(): Promise<ServerState> {
  for (let i = 0; i < 200 && state && !state.ready; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  if (!state?.ready) throw new Error('the spawn server of test/jest-environment.cjs is not running')
  return state
}

/** Runs `child` to its end; its stdout, stderr, exit code and signal. */
function finished(
  child: cp.ChildProcess,
): Promise<{out: string; err: string; code: number | null; signal: string | null}> {
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({out, err, code, signal}))
  })
}

describe('the spawn server of the test workers', () => {
  const skip = process.platform !== 'linux' || process.env.LORA_TEST_SPAWN_SERVER === '0'
  const maybe = skip ? it.skip : it

  maybe('starts the processes of spawn and execFile, so their parent is the server, not the worker', async () => {
    const {server} = await serverReady()
    const {stdout} = await execFile('sh', ['-c', 'echo $PPID'])
    expect(Number(stdout.trim())).toBe(server.pid)
    expect(Number(stdout.trim())).not.toBe(process.pid)
    // And so of the synchronous ones.
    expect(Number(cp.spawnSync('sh', ['-c', 'echo $PPID']).stdout.toString().trim())).toBe(server.pid)
    expect(Number(cp.execFileSync('sh', ['-c', 'echo $PPID'], {encoding: 'utf8'}).trim())).toBe(server.pid)
    // stdio other than pipe, ignore and inherit goes the usual way: the worker's child.
    expect(
      Number(
        cp
          .spawnSync('sh', ['-c', 'echo $PPID'], {stdio: ['pipe', 'pipe', 'pipe', 'pipe']})
          .stdout.toString()
          .trim(),
      ),
    ).toBe(process.pid)
  })

  maybe('passes stdin to the child and gives back its stdout, stderr and exit code', async () => {
    await serverReady()
    const child = cp.spawn('sh', ['-c', 'cat; echo to-stderr >&2; exit 3'])
    child.stdin.end('a line\nand a second\n')
    expect(await finished(child)).toEqual({out: 'a line\nand a second\n', err: 'to-stderr\n', code: 3, signal: null})
    // 5 MB through the FIFO, more than its buffer holds.
    const {stdout} = await execFile('head', ['-c', '5000000', '/dev/zero'], {encoding: 'buffer', maxBuffer: 1e8})
    expect(stdout.length).toBe(5_000_000)
  })

  maybe('kills by signal and reports it as Node does', async () => {
    await serverReady()
    const child = cp.spawn('sleep', ['30'])
    const done = finished(child)
    await new Promise((resolve) => child.once('spawn', resolve))
    expect(child.kill('SIGTERM')).toBe(true)
    expect(await done).toMatchObject({code: null, signal: 'SIGTERM'})
    expect(child.killed).toBe(true)
    // execFile's timeout kills through the same handle.
    await expect(execFile('sleep', ['30'], {timeout: 200})).rejects.toMatchObject({killed: true, signal: 'SIGTERM'})
  })

  maybe('runs in the working folder, environment and umask the worker has at the time of the spawn', async () => {
    await serverReady()
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'lora-spawn-server-test-')))
    const before = process.cwd()
    const umask = process.umask(0o027)
    try {
      process.chdir(dir)
      const {stdout} = await execFile('sh', ['-c', 'pwd; umask; echo "$LORA_SPAWN_TEST"'], {
        env: {PATH: process.env.PATH, LORA_SPAWN_TEST: 'a value with spaces = and equals'},
      })
      expect(stdout).toBe(`${dir}\n0027\na value with spaces = and equals\n`)
      expect((await execFile('pwd', [], {cwd: '/'})).stdout).toBe('/\n')
    } finally {
      process.chdir(before)
      process.umask(umask)
      rmSync(dir, {recursive: true, force: true})
    }
  })

  maybe('starts detached processes in a process group of their own', async () => {
    await serverReady()
    const child = cp.spawn('sh', ['-c', 'cut -d " " -f 5 /proc/$$/stat; sleep 30'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const done = finished(child)
    const pgid = await new Promise<number>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    )
    expect(pgid).toBe(child.pid)
    process.kill(-child.pid!, 'SIGKILL')
    expect(await done).toMatchObject({signal: 'SIGKILL'})
  })

  maybe(
    'runs the synchronous functions as Node does: input, output, status, signal, timeout, maxBuffer, errors',
    async () => {
      await serverReady()
      const r = cp.spawnSync('sh', ['-c', 'cat; echo err >&2; exit 4'], {input: 'piped in\n'})
      expect([r.status, r.signal, r.stdout.toString(), r.stderr.toString()]).toEqual([4, null, 'piped in\n', 'err\n'])
      expect(cp.execFileSync('cat', [], {input: Buffer.from([0, 255, 10])})).toEqual(Buffer.from([0, 255, 10]))
      expect(
        cp.execSync('echo "$LORA_SPAWN_TEST"', {
          env: {LORA_SPAWN_TEST: 'x y', PATH: process.env.PATH},
          encoding: 'utf8',
        }),
      ).toBe('x y\n')
      const killed = cp.spawnSync('sh', ['-c', 'kill -TERM $$'])
      expect([killed.status, killed.signal]).toEqual([null, 'SIGTERM'])
      const slow = cp.spawnSync('sleep', ['30'], {timeout: 200})
      expect([slow.signal, (slow.error as NodeJS.ErrnoException).code]).toEqual(['SIGTERM', 'ETIMEDOUT'])
      const big = cp.spawnSync('head', ['-c', '5000', '/dev/zero'], {maxBuffer: 1000})
      expect((big.error as NodeJS.ErrnoException).code).toBe('ENOBUFS')
      expect(() => cp.execFileSync('sh', ['-c', 'echo failing >&2; exit 2'], {stdio: 'pipe'})).toThrow(
        expect.objectContaining({
          status: 2,
          message: expect.stringMatching(/^Command failed: sh -c echo failing >&2; exit 2\nfailing\n$/u),
        }),
      )
      const missing = cp.spawnSync('lora-no-such-program-here')
      expect(missing.error).toMatchObject({
        code: 'ENOENT',
        syscall: 'spawnSync lora-no-such-program-here',
        path: 'lora-no-such-program-here',
      })
      expect(state!.dead).toBe(false)
    },
  )

  maybe('removes its FIFOs when the worker exits, and when a signal ends it', async () => {
    await serverReady()
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'lora-spawn-server-test-')))
    try {
      const client = join(process.cwd(), 'test', 'spawn-server', 'client.cjs')
      // A process that installs the client as a worker does, starts a child through its server, then exits, or first
      // sends its server SIGTERM (as `timeout` does to the whole process group).
      const script = join(dir, 'worker.cjs')
      writeFileSync(
        script,
        `require(${JSON.stringify(client)}).install()
const cp = require('node:child_process')
const state = cp.ChildProcess[Symbol.for('lora.test.spawnServer')]
const wait = setInterval(() => {
  if (!state.ready) return
  clearInterval(wait)
  cp.spawn('sleep', ['1'])
  console.log(state.server.pid)
  if (process.argv[2] === 'term') process.kill(state.server.pid, 'SIGTERM')
  setTimeout(() => process.exit(0), 200)
}, 20)
`,
      )
      for (const how of ['exit', 'term']) {
        const env = {...process.env, TMPDIR: dir}
        const pid = Number((await execFile(process.execPath, [script, how], {env})).stdout.trim())
        expect(pid).toBeGreaterThan(0)
        // The server is gone within a moment, and with it its folder of FIFOs.
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20))
        expect(existsSync(`/proc/${pid}`)).toBe(false)
        expect(readdirSync(dir).filter((name) => name.startsWith('lora-spawn-server-'))).toEqual([])
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  maybe("gives Node's own error for a program that is not there", async () => {
    await serverReady()
    await expect(execFile('lora-no-such-program-here')).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'spawn lora-no-such-program-here',
      path: 'lora-no-such-program-here',
    })
    expect(state!.dead).toBe(false)
  })
})
