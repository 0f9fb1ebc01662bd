/**
 * The viewer of `lora next` / `lora resume` (issue 13, README "The viewer"): one viewer at a time, closed (its whole
 * process group) when the next image shows and however lora ends, and failures that are said once, not swallowed.
 *
 * Real processes throughout. The viewer is a shell script in a temp folder that starts a child in its process group
 * (`sleep 30 &`), records both pids and the path it was given, and waits: a pid still alive after lora closed it, or
 * left after lora ended, is a viewer lora failed to close. The adapter (src/adapters/viewer.ts) is driven in-process
 * for what needs no terminal; `lora next` / `lora resume` (the built CLI; needs `npm run build`) in a real
 * pseudo-terminal for the rest. The system viewer is exercised through the `open` package's own xdg-open with a
 * stand-in `gio` on PATH, so no real desktop app is started.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {CLOSE_GRACE_MS, ImageViewer, type ViewerMessage} from '../../src/adapters/viewer.js'
import {killRunning, PtySession, sleep} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, removeTemp, runCli} from '../helpers.js'
import {loraInOk} from '../in-process.js'
import {runTaggingSession, type TaggingAnswer, type TaggingUi} from '../../src/services/tagging-session.js'
import {openDataset} from '../../src/store/dataset.js'
import {CancelledError} from '../../src/errors.js'

const PTY_TEST_TIMEOUT = 30_000
const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']

const temps: string[] = []
/** Every pid a viewer script recorded, killed after each test whatever happened. */
const started = new Set<number>()

afterEach(() => {
  killRunning()
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone, as it should be
    }
  }
  started.clear()
})
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function temp(): Promise<string> {
  const dir = await fsp.realpath(await makeTemp('lora-viewer-'))
  temps.push(dir)
  return dir
}

/** An executable script `dir/name` with `body` after the shebang. */
async function script(dir: string, name: string, body: string): Promise<string> {
  if (/['"\\\s$`]/u.test(dir)) throw new Error(`temp path not usable in a script: ${dir}`)
  const path = join(dir, name)
  await fsp.writeFile(path, `#!/bin/sh\n${body}`)
  await fsp.chmod(path, 0o755)
  return path
}

/** A viewer script: records `<its pid> <its child's pid> <path>` in `log` and waits (as a GUI viewer does). */
async function viewerScript(dir: string, log: string, options: {ignoreTerm?: boolean} = {}): Promise<string> {
  const trap = options.ignoreTerm ? "trap '' TERM\n" : ''
  return script(dir, 'viewer', `${trap}sleep 30 &\nprintf '%s %s %s\\n' "$$" "$!" "$1" >> ${log}\nwait\n`)
}

interface Viewed {
  pids: number[]
  path: string
}

/** The viewers recorded in `log`, once there are `count` of them. */
async function viewers(log: string, count: number): Promise<Viewed[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const lines = (await fsp.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean)
    if (lines.length >= count || Date.now() > deadline) {
      return lines.map((line) => {
        const [pid, child, ...path] = line.split(' ')
        const pids = [Number(pid), Number(child)]
        for (const p of pids) started.add(p)
        return {pids, path: path.join(' ')}
      })
    }
    await sleep(20)
  }
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** The pids of `pids` still alive after waiting up to `ms` for them to end. */
async function stillAlive(pids: number[], ms = 2000): Promise<number[]> {
  const deadline = Date.now() + ms
  for (;;) {
    const left: number[] = []
    for (const pid of pids) if (await alive(pid)) left.push(pid)
    if (left.length === 0 || Date.now() > deadline) return left
    await sleep(20)
  }
}

const onLinux = process.platform === 'linux' ? it : it.skip

describe('the adapter (in-process, real viewer processes)', () => {
  onLinux(
    'shows one viewer at a time: the next image closes the previous process group, close() the last',
    async () => {
      const tmp = await temp()
      const log = join(tmp, 'viewed.txt')
      const viewer = new ImageViewer(await viewerScript(tmp, log), {env: {DISPLAY: ':0'}})
      expect(await viewer.show(join(tmp, 'a b.jpg'))).toEqual([])
      const [first] = await viewers(log, 1)
      expect(first.path).toBe(join(tmp, 'a b.jpg'))
      expect(await stillAlive(first.pids, 0)).toEqual(first.pids)
      expect(await viewer.show(join(tmp, 'c.jpg'))).toEqual([])
      const [, second] = await viewers(log, 2)
      expect(await stillAlive(first.pids)).toEqual([])
      expect(await stillAlive(second.pids, 0)).toEqual(second.pids)
      expect(await viewer.close()).toEqual([])
      expect(await stillAlive(second.pids)).toEqual([])
    },
  )

  onLinux('a viewer that ignores SIGTERM is killed after the grace', async () => {
    const tmp = await temp()
    const log = join(tmp, 'viewed.txt')
    const viewer = new ImageViewer(await viewerScript(tmp, log, {ignoreTerm: true}), {env: {DISPLAY: ':0'}})
    await viewer.show(join(tmp, 'a.jpg'))
    const [first] = await viewers(log, 1)
    const before = Date.now()
    await viewer.close()
    expect(Date.now() - before).toBeGreaterThanOrEqual(CLOSE_GRACE_MS - 50)
    expect(await stillAlive(first.pids)).toEqual([])
  })

  it('a viewer that is not found, or exits non-zero at once, gives one warning per session', async () => {
    const tmp = await temp()
    const missing = new ImageViewer('nonexistent-viewer-xyz', {env: {DISPLAY: ':0'}})
    const warning = (text: string): ViewerMessage[] => [
      {level: 'warning', text: expect.stringContaining(text) as string},
    ]
    expect(await missing.show(join(tmp, 'a.jpg'))).toEqual(
      warning('the image viewer "nonexistent-viewer-xyz" was not found (the shell said 127: command not found)'),
    )
    expect(await missing.show(join(tmp, 'b.jpg'))).toEqual([])
    expect(await missing.close()).toEqual([])
    const notExecutable = join(tmp, 'not-executable')
    await fsp.writeFile(notExecutable, '#!/bin/sh\n')
    expect(await new ImageViewer(notExecutable, {env: {DISPLAY: ':0'}}).show(join(tmp, 'a.jpg'))).toEqual(
      warning(`the image viewer "${notExecutable}" could not be run (the shell said 126: not executable)`),
    )

    const three = new ImageViewer(await script(tmp, 'fails', 'exit 3\n'), {env: {DISPLAY: ':0'}})
    const [message] = await three.show(join(tmp, 'a.jpg'))
    expect(message.text).toBe(
      `the image viewer "${tmp}/fails" exited with status 3 right after it started, so the image is not shown; set LORA_VIEWER, --viewer or "viewer" in your own config (~/.config/lora/config.yaml) to an image viewer you have, or LORA_VIEWER=none to tag without one.`,
    )
    expect(await three.show(join(tmp, 'b.jpg'))).toEqual([])

    // Without a display, the failure says so.
    const noDisplay = new ImageViewer(await script(tmp, 'nodisplay', 'exit 1\n'), {platform: 'linux', env: {}})
    expect(await noDisplay.show(join(tmp, 'a.jpg'))).toEqual(
      warning(
        'exited with status 1 right after it started, so the image is not shown (there is no display: neither DISPLAY nor WAYLAND_DISPLAY is set)',
      ),
    )
  })

  it('a viewer that ends well (status 0) gives no warning; none shows nothing', async () => {
    const tmp = await temp()
    const ok = new ImageViewer(await script(tmp, 'ok', 'exit 0\n'), {platform: 'linux', env: {}})
    expect(await ok.show(join(tmp, 'a.jpg'))).toEqual([])
    expect(await ok.close()).toEqual([])
    const none = new ImageViewer('none', {platform: 'linux', env: {}})
    expect(await none.show(join(tmp, 'a.jpg'))).toEqual([])
  })

  it('the system viewer on Linux without a display: one warning, and it is not started', async () => {
    const tmp = await temp()
    const viewer = new ImageViewer(null, {platform: 'linux', env: {}})
    const text =
      'no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the system viewer (xdg-open) cannot show images and is not started; run lora in a graphical session, LORA_VIEWER=inline to draw images in the terminal, or LORA_VIEWER=none to tag without a viewer.'
    expect(await viewer.show(join(tmp, 'a.jpg'))).toEqual([{level: 'warning', text}])
    expect(await viewer.show(join(tmp, 'b.jpg'))).toEqual([])
    // WSL opens with Windows' opener, which needs no DISPLAY.
    const wsl = new ImageViewer(null, {platform: 'linux', env: {WSL_DISTRO_NAME: 'Ubuntu'}})
    expect((await wsl.show(join(tmp, 'a.txt')))[0].text).toContain('not an image file name')
  })
})

describe('the tagging session closes the viewer however it ends (in-process)', () => {
  onLinux('after a save, Esc, Ctrl-C and an error, no viewer is left', async () => {
    const tmp = await temp()
    const root = join(tmp, 'imgs')
    await copyFixtures(root, IMAGES)
    await loraInOk(['init', '.'], {cwd: root})
    const log = join(tmp, 'viewed.txt')
    const command = await viewerScript(tmp, log)
    const ends: [string, boolean, () => TaggingAnswer][] = [
      ['save', false, () => ({action: 'save', tags: ['sky']})],
      ['Esc in resume', true, () => ({action: 'quit'})],
      [
        'Ctrl-C',
        true,
        () => {
          throw new CancelledError()
        },
      ],
      [
        'an error',
        false,
        () => {
          throw new Error('boom')
        },
      ],
    ]
    for (const [index, [name, loop, answer]] of ends.entries()) {
      const viewer = new ImageViewer(command, {env: {DISPLAY: ':0'}})
      const ui: TaggingUi = {
        present: async (item) => void (await viewer.show(item.path)),
        ask: async () => {
          const [viewed] = (await viewers(log, index + 1)).slice(index)
          expect(await stillAlive(viewed.pids, 0)).toEqual(viewed.pids)
          return answer()
        },
        saved: () => {},
        close: async () => void (await viewer.close()),
      }
      await runTaggingSession(await openDataset(root), ui, {loop}).catch(() => undefined)
      const [viewed] = (await viewers(log, index + 1)).slice(index)
      expect([name, await stillAlive(viewed.pids, 1000)]).toEqual([name, []])
    }
  })
})

describe('lora next / lora resume in a pseudo-terminal', () => {
  /** A dataset of two images; returns its root. */
  async function dataset(tmp: string): Promise<string> {
    const root = join(tmp, 'imgs')
    await copyFixtures(root, IMAGES)
    expect((await runCli(['init', '.'], {cwd: root})).code).toBe(0)
    return root
  }

  function start(root: string, args: string[], env: NodeJS.ProcessEnv): PtySession {
    const full: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', DISPLAY: ':0', ...env}
    delete full.CI
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete full[key]
    return new PtySession(args, root, full)
  }

  /** Types `tag`, Enter, then Enter on the empty line (save). */
  async function saveTag(session: PtySession, tag: string, saved: RegExp): Promise<void> {
    let at = session.send(tag)
    await session.waitFor(new RegExp(`› ${tag}`, 'u'), at)
    at = session.send('\r')
    await session.waitFor(new RegExp(`added ${tag}`, 'u'), at)
    at = session.send('\r')
    await session.waitFor(saved, at)
  }

  const warnings = (text: string) => text.split('\n').filter((line) => line.startsWith('warning:'))

  onLinux(
    'resume: the next image closes the first viewer; the last save leaves no viewer',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const log = join(tmp, 'viewed.txt')
      const session = start(root, ['resume'], {LORA_VIEWER: await viewerScript(tmp, log)})
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      const [first] = await viewers(log, 1)
      expect(first.path).toBe(join(root, 'output', 'img_0001.jpg'))
      expect(await stillAlive(first.pids, 0)).toEqual(first.pids)
      await saveTag(session, 'sky', /Tags for img_0002[\s\S]*esc quit/u)
      const [, second] = await viewers(log, 2)
      expect(second.path).toBe(join(root, 'output', 'img_0002.jpg'))
      expect(await stillAlive(first.pids)).toEqual([])
      expect(await stillAlive(second.pids, 0)).toEqual(second.pids)
      await saveTag(session, 'kite', /Saved img_0002/u)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await stillAlive(second.pids)).toEqual([])
      expect(warnings(session.text)).toEqual([])
    },
    PTY_TEST_TIMEOUT,
  )

  onLinux(
    'next: Esc, Ctrl-C, SIGTERM and SIGHUP leave no viewer',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const log = join(tmp, 'viewed.txt')
      const env = {LORA_VIEWER: await viewerScript(tmp, log)}
      const ends: [string, (session: PtySession) => void, number][] = [
        ['Esc', (s) => s.send('\u001b'), 0],
        ['Ctrl-C', (s) => s.send('\u0003'), 130],
        ['SIGTERM', (s) => process.kill(s.pid, 'SIGTERM'), 143],
        ['SIGHUP', (s) => process.kill(s.pid, 'SIGHUP'), 129],
      ]
      for (const [index, [name, end, code]] of ends.entries()) {
        const session = start(root, ['next'], env)
        await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
        const viewed = (await viewers(log, index + 1))[index]
        expect(await stillAlive(viewed.pids, 0)).toEqual(viewed.pids)
        end(session)
        expect([name, (await session.exit()).exitCode]).toEqual([name, code])
        expect([name, await stillAlive(viewed.pids)]).toEqual([name, []])
      }
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'LORA_VIEWER=nonexistent-viewer-xyz: one warning for the session, and the tags are saved',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const session = start(root, ['resume'], {LORA_VIEWER: 'nonexistent-viewer-xyz'})
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await saveTag(session, 'sky', /Tags for img_0002[\s\S]*esc quit/u)
      await saveTag(session, 'kite', /Saved img_0002/u)
      expect((await session.exit()).exitCode).toBe(0)
      expect(warnings(session.text)).toEqual([
        'warning: the image viewer "nonexistent-viewer-xyz" was not found (the shell said 127: command not found); install it, or set LORA_VIEWER, --viewer or "viewer" in your own config (~/.config/lora/config.yaml) to an image viewer you have, or LORA_VIEWER=none to tag without one.\r',
      ])
      expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('sky\n')
      expect(await fsp.readFile(join(root, 'output', 'img_0002.txt'), 'utf8')).toBe('kite\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'a viewer that exits 3 at once: one warning, and the prompt still saves',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const fails = await script(tmp, 'fails', 'exit 3\n')
      const session = start(root, ['next'], {LORA_VIEWER: fails})
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await saveTag(session, 'sky', /Saved img_0001/u)
      expect((await session.exit()).exitCode).toBe(0)
      expect(warnings(session.text)).toEqual([
        `warning: the image viewer "${fails}" exited with status 3 right after it started, so the image is not shown; set LORA_VIEWER, --viewer or "viewer" in your own config (~/.config/lora/config.yaml) to an image viewer you have, or LORA_VIEWER=none to tag without one.\r`,
      ])
      expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('sky\n')
    },
    PTY_TEST_TIMEOUT,
  )

  onLinux(
    'no DISPLAY or WAYLAND_DISPLAY and the system viewer chosen: it is not started, one warning, tagging goes on (auto draws in the terminal there: inline-preview.test.ts)',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const session = start(root, ['next'], {
        LORA_VIEWER: 'system',
        DISPLAY: undefined,
        WAYLAND_DISPLAY: undefined,
        XDG_CONFIG_HOME: join(tmp, 'xdg'),
      })
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await saveTag(session, 'sky', /Saved img_0001/u)
      expect((await session.exit()).exitCode).toBe(0)
      expect(warnings(session.text)).toEqual([
        'warning: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the system viewer (xdg-open) cannot show images and is not started; run lora in a graphical session, LORA_VIEWER=inline to draw images in the terminal, or LORA_VIEWER=none to tag without a viewer.\r',
      ])
    },
    PTY_TEST_TIMEOUT,
  )
  onLinux(
    'the system viewer (xdg-open): a note once that lora cannot close what it opened; a failure is one warning',
    async () => {
      const tmp = await temp()
      const root = await dataset(tmp)
      const bin = join(tmp, 'bin')
      await fsp.mkdir(bin)
      const log = join(tmp, 'gio.txt')
      // The xdg-open the `open` package ships hands the file to `gio open` on GNOME: a stand-in records it, and
      // fails (xdg-open then exits 4) once tmp/fail exists.
      await script(
        bin,
        'gio',
        `[ "$1" = help ] && exit 0\nprintf '%s\\n' "$2" >> ${log}\n[ -e ${tmp}/fail ] && exit 1\nexit 0\n`,
      )
      const session = start(root, ['resume'], {
        LORA_VIEWER: undefined,
        XDG_CONFIG_HOME: join(tmp, 'xdg'),
        PATH: `${bin}:${process.env.PATH}`,
        XDG_CURRENT_DESKTOP: 'GNOME',
      })
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await fsp.writeFile(join(tmp, 'fail'), '')
      await saveTag(session, 'sky', /Tags for img_0002[\s\S]*esc quit/u)
      await saveTag(session, 'kite', /Saved img_0002/u)
      expect((await session.exit()).exitCode).toBe(0)
      const notes = session.text.split('\n').filter((line) => line.startsWith('note:'))
      expect(notes).toEqual([
        'note: the system viewer (xdg-open) hands each image to an app lora cannot close, so its windows stay open; set LORA_VIEWER (e.g. LORA_VIEWER="feh --scale-down") and lora shows one image at a time and closes it when it is done.\r',
      ])
      expect(warnings(session.text)).toEqual([
        expect.stringMatching(/^warning: the system viewer \(xdg-open\) exited with status 4 right after it started/u),
      ])
      expect((await fsp.readFile(log, 'utf8')).split('\n').filter(Boolean)).toEqual(
        ['img_0001.jpg', 'img_0002.jpg'].map((n) => join(root, 'output', n)),
      )
    },
    PTY_TEST_TIMEOUT,
  )
})
