import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {acquireLock, LOCK_FILE, readLock, reclaimStaleLock} from '../../src/store/lock.js'
import {DatasetBusyError, DatasetError} from '../../src/errors.js'
import {makeTemp, removeTemp} from '../helpers.js'

let root: string
let meta: string
let lockPath: string

beforeEach(async () => {
  root = await makeTemp('lora-lock-')
  meta = join(root, '.lora-tagger')
  lockPath = join(meta, LOCK_FILE)
  await fsp.mkdir(meta)
})

afterEach(async () => {
  await removeTemp(root)
})

/** The pid of a process that has run and exited (so no process has it, barring immediate reuse). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0'])
  expect(child.status).toBe(0)
  const pid = child.pid
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({code: 'ESRCH'}))
  return pid
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but it resolved')
    },
    (error: unknown) => error,
  )
}

describe('the dataset lock', () => {
  it('creates .lora-tagger/lock naming this process and host', async () => {
    const before = Date.now()
    const lock = await acquireLock(meta, 'lora tag')
    expect(fs.existsSync(lockPath)).toBe(true)
    const info = JSON.parse(await fsp.readFile(lockPath, 'utf8'))
    expect(info.pid).toBe(process.pid)
    expect(info.host).toBe(hostname())
    expect(info.command).toBe('lora tag')
    expect(Date.parse(info.since)).toBeGreaterThanOrEqual(before - 1000)
    expect(await readLock(lockPath)).toEqual(info)
    await lock.release()
  })

  it('refuses a second writer while held (DatasetBusyError, exit 5, naming the pid)', async () => {
    const lock = await acquireLock(meta, 'lora tag')
    const content = await fsp.readFile(lockPath, 'utf8')
    const error = await rejection(acquireLock(meta, 'lora init'))
    expect(error).toBeInstanceOf(DatasetBusyError)
    const e = error as DatasetBusyError
    expect(e.exitCode).toBe(5)
    expect(e.code).toBe('busy')
    expect(e.message).toContain(`pid ${process.pid}`)
    expect(e.message).toContain('lora tag')
    expect(e.message).toContain(hostname())
    expect(e.hint).toContain(lockPath)
    // The holder's lock is untouched.
    expect(await fsp.readFile(lockPath, 'utf8')).toBe(content)
    await lock.release()
  })

  it('refuses a lock held by another live process', async () => {
    const info = {pid: process.ppid, host: hostname(), command: 'lora next', since: '2024-01-01T00:00:00.000Z'}
    await fsp.writeFile(lockPath, JSON.stringify(info) + '\n')
    const error = await rejection(acquireLock(meta, 'lora tag'))
    expect(error).toBeInstanceOf(DatasetBusyError)
    expect((error as DatasetBusyError).message).toContain(`pid ${process.ppid}`)
    expect((error as DatasetBusyError).message).toContain('lora next')
    expect(JSON.parse(await fsp.readFile(lockPath, 'utf8'))).toEqual(info)
  })

  it('reclaims a stale lock left by a dead process on this host', async () => {
    const pid = deadPid()
    await fsp.writeFile(
      lockPath,
      JSON.stringify({pid, host: hostname(), command: 'lora init', since: '2024-01-01T00:00:00.000Z'}) + '\n',
    )
    const lock = await acquireLock(meta, 'lora tag')
    const info = JSON.parse(await fsp.readFile(lockPath, 'utf8'))
    expect(info.pid).toBe(process.pid)
    expect(info.command).toBe('lora tag')
    // Nothing left over from moving the stale lock aside.
    expect(await fsp.readdir(meta)).toEqual([LOCK_FILE])
    await lock.release()
  })

  it('does not reclaim a lock from another host, even with a pid that is dead here', async () => {
    const pid = deadPid()
    await fsp.writeFile(
      lockPath,
      JSON.stringify({pid, host: `not-${hostname()}`, command: 'lora init', since: '2024-01-01T00:00:00.000Z'}) + '\n',
    )
    const error = await rejection(acquireLock(meta, 'lora tag'))
    expect(error).toBeInstanceOf(DatasetBusyError)
    expect((error as DatasetBusyError).message).toContain(`pid ${pid}`)
    expect(JSON.parse(await fsp.readFile(lockPath, 'utf8')).host).toBe(`not-${hostname()}`)
  })

  it('reclaims a damaged lock file', async () => {
    await fsp.writeFile(lockPath, '{"pid": 12')
    expect(await readLock(lockPath)).toMatchObject({pid: 0, host: hostname()})
    const lock = await acquireLock(meta, 'lora tag')
    expect(JSON.parse(await fsp.readFile(lockPath, 'utf8')).pid).toBe(process.pid)
    await lock.release()
  })

  it('release removes the lock file, and the lock can be taken again', async () => {
    const lock = await acquireLock(meta, 'lora tag')
    await lock.release()
    expect(fs.existsSync(lockPath)).toBe(false)
    expect(await readLock(lockPath)).toBeUndefined()
    const again = await acquireLock(meta, 'lora tag')
    expect(fs.existsSync(lockPath)).toBe(true)
    await again.release()
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('leaves no temp files behind', async () => {
    const lock = await acquireLock(meta, 'lora tag')
    expect(await fsp.readdir(meta)).toEqual([LOCK_FILE])
    await lock.release()
    expect(await fsp.readdir(meta)).toEqual([])
  })

  it('reclaiming a stale lock that another writer has meanwhile replaced with its own puts that lock back and is busy', async () => {
    // What this writer read (a dead holder), and what is now at the path: another writer reclaimed it first.
    const stale = {pid: deadPid(), host: hostname(), command: 'lora tag', since: '2026-01-01T00:00:00.000Z'}
    const live = {pid: process.pid, host: hostname(), command: 'lora tags rename', since: new Date().toISOString()}
    const liveText = JSON.stringify(live) + '\n'
    await fsp.writeFile(lockPath, liveText)
    const error = await reclaimStaleLock(lockPath, stale).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DatasetBusyError)
    expect((error as DatasetBusyError).message).toContain('lora tags rename')
    expect(await fsp.readFile(lockPath, 'utf8')).toBe(liveText)
    expect(await fsp.readdir(meta)).toEqual([LOCK_FILE])
  })

  it('reclaiming the stale lock it read removes it, leaving nothing', async () => {
    const stale = {pid: deadPid(), host: hostname(), command: 'lora tag', since: '2026-01-01T00:00:00.000Z'}
    await fsp.writeFile(lockPath, JSON.stringify(stale) + '\n')
    await reclaimStaleLock(lockPath, stale)
    expect(await fsp.readdir(meta)).toEqual([])
    await reclaimStaleLock(lockPath, stale) // already gone: nothing to do
  })

  it('a lock that is a symbolic link is named and left alone, never followed or reclaimed', async () => {
    // The link leads to a lock of a dead holder elsewhere: followed, it would be read as stale and replaced.
    const elsewhere = join(root, 'elsewhere-lock')
    const text = JSON.stringify({pid: deadPid(), host: hostname(), command: 'lora tag', since: '2026-01-01'}) + '\n'
    await fsp.writeFile(elsewhere, text)
    await fsp.symlink(elsewhere, lockPath)
    const error = await rejection(acquireLock(meta, 'lora tag'))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toBe(
      '.lora-tagger/lock is a symbolic link, not a regular lock file; lora does not read or write through it, and nothing was done.',
    )
    expect((error as DatasetError).hint).toContain('remove .lora-tagger/lock')
    expect((await fsp.lstat(lockPath)).isSymbolicLink()).toBe(true)
    expect(await fsp.readFile(elsewhere, 'utf8')).toBe(text)
    expect((await fsp.readdir(meta)).sort()).toEqual([LOCK_FILE])
  })

  it('a lock that is a folder is named (DatasetError), not a system error', async () => {
    await fsp.mkdir(lockPath)
    const error = await rejection(readLock(lockPath))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain('.lora-tagger/lock is a folder, not a regular lock file')
  })
})
