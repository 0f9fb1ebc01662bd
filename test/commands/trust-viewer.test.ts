/**
 * A dataset is data, not code (issue 12 rule 2; README "Safety model"): nothing in a dataset's files makes lora run a
 * program. The viewer of `lora next`/`lora resume` comes only from `--viewer`, `LORA_VIEWER` or the user's own
 * config (`$XDG_CONFIG_HOME/lora/config.yaml`); a `viewer:` in a dataset's config is ignored with a one-line warning,
 * except `viewer: none`, honoured silently.
 *
 * The choice is tested on the service with real files; the attack end to end: a dataset whose committed config says
 * `viewer: "touch <dir>/PWNED; true"` is cloned with git and `lora next`/`lora resume` run in it in a real
 * pseudo-terminal (node-pty, the built CLI), with a real viewer command from LORA_VIEWER, the user config or
 * --viewer that records the image path in a marker file: the marker proves which viewer ran, PWNED that the
 * dataset's never did. Needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {chooseViewer} from '../../src/services/viewer-choice.js'
import {ImageViewer} from '../../src/adapters/viewer.js'
import {openDataset} from '../../src/store/dataset.js'
import {loraIn, loraInOk} from '../in-process.js'
import {cleanEnv, copyFixtures, makeTemp, removeTemp, runCli, sha256} from '../helpers.js'
import {killRunning, PtySession, sleep} from '../e2e/pty.js'
import {GIT_ENV} from '../git-helpers.js'

const PTY_TEST_TIMEOUT = 30_000
const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']

const temps: string[] = []
afterEach(() => killRunning())
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function temp(): Promise<string> {
  const dir = await fsp.realpath(await makeTemp('lora-viewer-'))
  temps.push(dir)
  return dir
}

/** A dataset of two images in `<tmp>/imgs`, with `configLines` appended to its config.yaml. */
async function dataset(tmp: string, configLines = ''): Promise<string> {
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.'], {cwd: root})
  if (configLines) await fsp.appendFile(join(root, '.lora-tagger', 'config.yaml'), configLines)
  return root
}

/** Writes the user config `<xdg>/lora/config.yaml`. */
async function userConfig(xdg: string, text: string): Promise<void> {
  await fsp.mkdir(join(xdg, 'lora'), {recursive: true})
  await fsp.writeFile(join(xdg, 'lora', 'config.yaml'), text)
}

/** A viewer command appending the path it is given to `file` (lora runs `sh -c '<viewer> "$@"' lora-viewer <path>`). */
function marker(file: string): string {
  if (/['\\\n ]/u.test(file)) throw new Error(`temp path not usable in a viewer command: ${file}`)
  return `sh -c 'printf "%s\\n" "$0" >> ${file}'`
}

describe('choosing the viewer (services/viewer-choice.ts)', () => {
  /** What chooseViewer gives for a command, or `none`, with the defaults of the rest. */
  const made = (command: string | null, source: string, setting = command ?? 'auto', more: object = {}) => ({
    command,
    inline: false,
    setting,
    source,
    previewRows: null,
    ...more,
  })

  it("takes --viewer, then LORA_VIEWER, then the user config, never the dataset's command", async () => {
    const tmp = await temp()
    const xdg = join(tmp, 'xdg')
    const root = await dataset(tmp, `viewer: "touch ${tmp}/PWNED; true"\n`)
    const ds = await openDataset(root)
    const warning = `ignoring "viewer" in .lora-tagger/config.yaml: a dataset cannot choose a program to run; put your viewer in ${xdg}/lora/config.yaml (viewer: CMD), LORA_VIEWER, or --viewer.`
    const env = {XDG_CONFIG_HOME: xdg, DISPLAY: ':0'}
    const platform = 'linux' as const
    expect(await chooseViewer(ds, {env, platform})).toEqual(made(null, 'default', 'auto', {warning}))
    await userConfig(xdg, '# mine\nviewer: feh --scale-down\n')
    expect(await chooseViewer(ds, {env, platform})).toEqual(
      made('feh --scale-down', 'user config', undefined, {warning}),
    )
    expect(await chooseViewer(ds, {env: {...env, LORA_VIEWER: 'sxiv'}, platform})).toEqual(
      made('sxiv', 'LORA_VIEWER', undefined, {warning}),
    )
    expect(await chooseViewer(ds, {env: {...env, LORA_VIEWER: ''}, platform})).toEqual(
      made('feh --scale-down', 'user config', undefined, {warning}),
    )
    expect(await chooseViewer(ds, {flag: 'eog', env: {...env, LORA_VIEWER: 'sxiv'}, platform})).toEqual(
      made('eog', 'flag', undefined, {warning}),
    )
    expect(await chooseViewer(ds, {flag: 'none', env, platform})).toEqual(made('none', 'flag', undefined, {warning}))
    await userConfig(xdg, 'viewer: none\npreview:\n  rows: 9\n')
    expect(await chooseViewer(ds, {env, platform})).toEqual(
      made('none', 'user config', undefined, {warning, previewRows: 9}),
    )
  })

  it('auto: the system viewer with a display, drawn in the terminal without one; inline, system and both', async () => {
    const tmp = await temp()
    const ds = await openDataset(await dataset(tmp))
    const env = {XDG_CONFIG_HOME: join(tmp, 'xdg')}
    const linux = {platform: 'linux' as const}
    expect(await chooseViewer(ds, {env, ...linux})).toEqual(made('none', 'default', 'auto', {inline: true}))
    expect(await chooseViewer(ds, {env: {...env, WAYLAND_DISPLAY: 'wayland-0'}, ...linux})).toEqual(
      made(null, 'default', 'auto'),
    )
    expect(await chooseViewer(ds, {env, platform: 'darwin'})).toEqual(made(null, 'default', 'auto'))
    expect(await chooseViewer(ds, {env: {...env, DISPLAY: ':0'}, flag: 'inline', ...linux})).toEqual(
      made('none', 'flag', 'inline', {inline: true}),
    )
    expect(await chooseViewer(ds, {env: {...env, LORA_VIEWER: 'system'}, ...linux})).toEqual(
      made(null, 'LORA_VIEWER', 'system'),
    )
    expect(await chooseViewer(ds, {env: {...env, LORA_VIEWER: 'inline,system'}, ...linux})).toEqual(
      made(null, 'LORA_VIEWER', 'inline,system', {inline: true}),
    )
    expect(await chooseViewer(ds, {env: {...env, LORA_VIEWER: 'inline,feh -F'}, ...linux})).toEqual(
      made('feh -F', 'LORA_VIEWER', 'inline,feh -F', {inline: true}),
    )
  })

  it("honours a dataset's viewer: none silently (it runs nothing); no viewer key: auto", async () => {
    const tmp = await temp()
    const env = {XDG_CONFIG_HOME: join(tmp, 'xdg'), DISPLAY: ':0'}
    const none = await openDataset(await dataset(tmp, 'viewer: none\n'))
    expect(await chooseViewer(none, {env})).toEqual(made('none', 'dataset (none)'))
    // Keywords are case-insensitive: `NONE` is `none` (it was ignored with a warning).
    const upper = await openDataset(await dataset(await temp(), 'viewer: NONE\n'))
    expect(await chooseViewer(upper, {env})).toEqual(made('none', 'dataset (none)'))
    await userConfig(env.XDG_CONFIG_HOME, 'viewer: feh\n')
    expect(await chooseViewer(none, {env})).toEqual(made('feh', 'user config'))
    const plain = await openDataset(await dataset(await temp()))
    expect(plain.config.viewer).toBeNull()
    expect(
      await chooseViewer(plain, {env: {XDG_CONFIG_HOME: join(tmp, 'nothing-here'), DISPLAY: ':0'}, platform: 'linux'}),
    ).toEqual(made(null, 'default', 'auto'))
  })

  it('refuses a bad user config, naming the file and the key', async () => {
    const tmp = await temp()
    const xdg = join(tmp, 'xdg')
    const root = await dataset(tmp)
    const file = join(xdg, 'lora', 'config.yaml')
    const cases: [string, string][] = [
      [
        'viewr: feh\n',
        `error: Unknown key "viewr" in ${file}.\nhint: Remove it or use one of: viewer, preview.rows.\n`,
      ],
      [
        'viewer: [feh]\n',
        `error: Bad value for "viewer" in ${file}: ["feh"].\nhint: "viewer" must be a command (the image path is appended), none, or null.\n`,
      ],
      ['viewer: "\n', `error: ${file} is not valid YAML`],
      ['- feh\n', `error: ${file} must be a mapping of keys to values.\nhint: The keys are: viewer, preview.rows.\n`],
    ]
    for (const [text, expected] of cases) {
      await userConfig(xdg, text)
      // Read before the terminal check: a broken config is reported even where no prompt could be shown.
      const result = await loraIn(['next'], {cwd: root, env: {XDG_CONFIG_HOME: xdg, LORA_VIEWER: undefined}})
      expect(result.stderr.startsWith(expected)).toBe(true)
      expect(result.code).toBe(1)
    }
  })

  it('the system viewer is never handed a file not named like an image (a tampered state could name a .desktop file)', async () => {
    const tmp = await temp()
    const evil = join(tmp, 'img_0001.desktop')
    await fsp.writeFile(evil, `[Desktop Entry]\nType=Application\nExec=touch ${tmp}/PWNED\n`)
    const viewer = new ImageViewer(null, {platform: 'linux', env: {DISPLAY: ':0'}})
    expect(await viewer.show(evil)).toEqual([
      {level: 'warning', text: `not opening ${evil} in the system viewer (xdg-open): not an image file name`},
    ])
    expect(await new ImageViewer(undefined).show(join(tmp, 'run.sh'))).toEqual([
      expect.objectContaining({text: expect.stringContaining('not an image file name') as string}),
    ])
    await sleep(200)
    await expect(fsp.stat(join(tmp, 'PWNED'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('new datasets are written without a viewer key', async () => {
    const root = await dataset(await temp())
    expect(await fsp.readFile(join(root, '.lora-tagger', 'config.yaml'), 'utf8')).not.toMatch(/viewer/u)
  })
})

describe("git drivers a dataset's committed .gitattributes selects", () => {
  it("lora log and blame read the captions' own text and never run a textconv program", async () => {
    const tmp = await temp()
    const root = join(tmp, 'imgs')
    await copyFixtures(root, IMAGES)
    // A diff driver in the user's own git config (as `exiftool` or `gpg` drivers often are) ...
    const globalConfig = join(tmp, 'gitconfig')
    await fsp.writeFile(globalConfig, `[diff "evil"]\n\ttextconv = "touch ${tmp}/PWNED; echo spoofed, tags #"\n`)
    const env = {...GIT_ENV, GIT_CONFIG_GLOBAL: globalConfig}
    expect((await runCli(['init', '.', '--git'], {cwd: root, env})).code).toBe(0)
    // ... that a dataset's committed attributes point its captions at.
    await fsp.appendFile(join(root, 'output', '.gitattributes'), '*.txt diff=evil\n')
    expect((await runCli(['tag', '1', '--add', 'autumn'], {cwd: root, env})).code).toBe(0)
    const log = await runCli(['log', '--json'], {cwd: root, env})
    expect(log.code).toBe(0)
    expect(JSON.parse(log.stdout).events.map((e: {id: string; added: string[]}) => [e.id, e.added])).toEqual([
      ['img_0001', ['autumn']],
    ])
    const blame = await runCli(['blame', '1', '--json'], {cwd: root, env})
    expect(JSON.parse(blame.stdout).tags.map((t: {tag: string}) => t.tag)).toEqual(['autumn'])
    await expect(fsp.stat(join(tmp, 'PWNED'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('a cloned dataset whose committed config names a viewer (pseudo-terminal)', () => {
  /** A dataset with history whose committed config says to run `touch <tmp>/PWNED`, cloned to `<tmp>/clone`. */
  async function hostileClone(): Promise<{tmp: string; clone: string; pwned: string}> {
    const tmp = await temp()
    const origin = join(tmp, 'imgs')
    await copyFixtures(origin, IMAGES)
    const init = await runCli(['init', '.', '--git'], {cwd: origin, env: GIT_ENV})
    expect(init.code).toBe(0)
    const pwned = join(tmp, 'PWNED')
    await fsp.appendFile(join(origin, '.lora-tagger', 'config.yaml'), `viewer: "touch ${pwned}; true"\n`)
    const git = (args: string[], cwd: string) =>
      execFileSync('git', args, {cwd, env: {...process.env, ...GIT_ENV}, stdio: 'pipe'})
    git(['commit', '-q', '-am', 'a viewer for everyone'], origin)
    git(['clone', '-q', origin, join(tmp, 'clone')], tmp)
    const clone = join(tmp, 'clone')
    expect(await fsp.readFile(join(clone, '.lora-tagger', 'config.yaml'), 'utf8')).toContain(
      `viewer: "touch ${pwned}; true"`,
    )
    return {tmp, clone, pwned}
  }

  function start(cwd: string, args: string[], env: NodeJS.ProcessEnv): PtySession {
    const full: NodeJS.ProcessEnv = {...cleanEnv(), ...GIT_ENV, TERM: 'xterm-256color', ...env}
    delete full.CI
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete full[key]
    return new PtySession(args, cwd, full)
  }

  /** The marker's lines once it has `count` of them (the viewer runs detached). */
  async function viewed(file: string, count = 1): Promise<string[]> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const lines = (await fsp.readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean)
      if (lines.length >= count || Date.now() > deadline) return lines
      await sleep(20)
    }
  }

  /** Runs `lora <args>` to the prompt, checks the warning, quits with Esc (a normal quit: exit 0). */
  async function runToPrompt(
    clone: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    warningPath: string,
  ): Promise<string> {
    const session = start(clone, args, env)
    await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
    const warning = `warning: ignoring "viewer" in .lora-tagger/config.yaml: a dataset cannot choose a program to run; put your viewer in ${warningPath} (viewer: CMD), LORA_VIEWER, or --viewer.`
    expect(session.text.split(warning).length - 1).toBe(1)
    session.send('\u001b')
    expect((await session.exit()).exitCode).toBe(0)
    return session.text
  }

  it(
    "lora next runs the LORA_VIEWER command, never the dataset's, and warns once",
    async () => {
      const {tmp, clone, pwned} = await hostileClone()
      const outputs = ['img_0001.jpg', 'img_0002.jpg'].map((n) => join(clone, 'output', n))
      const images = await Promise.all(outputs.map((p) => sha256(p)))
      const mark = join(tmp, 'viewed-env.txt')
      await runToPrompt(
        clone,
        ['next'],
        {LORA_VIEWER: marker(mark), XDG_CONFIG_HOME: join(tmp, 'xdg')},
        join(tmp, 'xdg', 'lora', 'config.yaml'),
      )
      expect(await viewed(mark)).toEqual([join(clone, 'output', 'img_0001.jpg')])
      await sleep(300)
      await expect(fsp.stat(pwned)).rejects.toMatchObject({code: 'ENOENT'})
      expect(await Promise.all(outputs.map((p) => sha256(p)))).toEqual(images)
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    "lora next and lora resume run the user config's viewer; --viewer wins over LORA_VIEWER",
    async () => {
      const {tmp, clone, pwned} = await hostileClone()
      const xdg = join(tmp, 'xdg')
      const userMark = join(tmp, 'viewed-user.txt')
      await userConfig(xdg, `viewer: ${JSON.stringify(marker(userMark))}\n`)
      await runToPrompt(
        clone,
        ['next'],
        {LORA_VIEWER: undefined, XDG_CONFIG_HOME: xdg},
        join(xdg, 'lora', 'config.yaml'),
      )
      expect(await viewed(userMark)).toEqual([join(clone, 'output', 'img_0001.jpg')])
      await runToPrompt(
        clone,
        ['resume'],
        {LORA_VIEWER: undefined, XDG_CONFIG_HOME: xdg},
        join(xdg, 'lora', 'config.yaml'),
      )
      expect(await viewed(userMark, 2)).toEqual([
        join(clone, 'output', 'img_0001.jpg'),
        join(clone, 'output', 'img_0001.jpg'),
      ])

      const flagMark = join(tmp, 'viewed-flag.txt')
      const envMark = join(tmp, 'viewed-env.txt')
      await runToPrompt(
        clone,
        ['next', '--viewer', marker(flagMark)],
        {LORA_VIEWER: marker(envMark), XDG_CONFIG_HOME: xdg},
        join(xdg, 'lora', 'config.yaml'),
      )
      expect(await viewed(flagMark)).toEqual([join(clone, 'output', 'img_0001.jpg')])
      await sleep(300)
      await expect(fsp.stat(envMark)).rejects.toMatchObject({code: 'ENOENT'})
      await expect(fsp.stat(pwned)).rejects.toMatchObject({code: 'ENOENT'})
    },
    PTY_TEST_TIMEOUT * 2,
  )
})
