/**
 * Terminal escape injection through the built CLI (issue 12 rule 7; README "Safety model"): text that came from
 * files, names or git — tags in a hand-edited state and tags.txt, file names with a bidi override, ESC or BEL,
 * a git author and commit subject holding ESC and a bidi override, arguments quoted back in error messages — is
 * printed with its control and bidi characters escaped (`\x1b`, `<U+202E>`), on both the fast path and oclif's;
 * no raw control byte reaches stdout or stderr (JSON escapes C0 as JSON.stringify does). The tag prompt of
 * `lora next` is driven in a real pseudo-terminal: it shows such tags escaped and refuses a pasted one.
 * Originals stay byte-identical. Needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanEnv, FIXTURES, runCli, sha256, type RunResult} from '../helpers.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'
import {killRunning, PtySession} from '../e2e/pty.js'
import {GIT_ENV} from '../git-helpers.js'
import {loraIn} from '../in-process.js'

/** An OSC 52 clipboard write ("pwned"): what a malicious tag would make a terminal do. */
const OSC52 = 'x\u001b]52;c;cHduZWQ=\u0007'
const OSC52_SHOWN = 'x\\x1b]52;c;cHduZWQ=\\x07'
/** Raw control or bidi characters, tab and line feed excepted (lora's own output uses them). */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u
/** The same in JSON output: C1 and bidi characters stay as characters there (valid JSON, as JSON.stringify writes). */
const RAW_C0 = /[\u0000-\u0008\u000b-\u001f\u007f]/u

/** Hostile original file names: a bidi override (shows as "agnp.png"... reversed), ESC, BEL + OSC 52. */
const BIDI_NAME = 'a\u202egnp.png'
const DUP_NAME = 'dup\u001b[2J.png'
const BAD_NAME = `bad\u0007${OSC52}.jpg`

afterEach(() => killRunning())
afterAll(cleanupTemps)

/**
 * Runs lora: `status` and `next --print` through the built binary (their fast path prints without oclif; with
 * LORA_NO_FAST_PATH=1 the binary runs oclif's), everything else in-process (test/in-process.ts: the same commands,
 * output and exit code as the binary, as test/commands/in-process-fidelity.test.ts proves).
 */
async function lora(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const fastPathCandidate = args[0] === 'status' || (args[0] === 'next' && args.includes('--print'))
  return fastPathCandidate
    ? runCli(args, {cwd, env: {...GIT_ENV, ...env}})
    : loraIn(args, {cwd, env: {...GIT_ENV, ...env}})
}

/** Runs and checks that nothing raw reached the terminal. */
async function clean(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, code = 0): Promise<RunResult> {
  const result = await lora(args, cwd, env)
  expect({args, stdout: result.stdout, stderr: result.stderr, code: result.code}).toEqual({
    args,
    stdout: expect.not.stringMatching(RAW),
    stderr: expect.not.stringMatching(RAW),
    code,
  })
  return result
}

/** A dataset from hostile file names, then a hand-edited state and tags.txt holding hostile tags. */
async function hostileDataset(): Promise<{root: string; originals: Record<string, string>}> {
  const root = join(await tempDir('lora-hostile-term-'), 'imgs')
  await fsp.mkdir(root, {recursive: true})
  await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(root, BIDI_NAME))
  await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(root, DUP_NAME))
  await fsp.copyFile(join(FIXTURES, 'plasma-Autumn-screenshot.jpg'), join(root, 'plasma-Autumn-screenshot.jpg'))
  await fsp.writeFile(join(root, BAD_NAME), 'not an image\n')
  const originals: Record<string, string> = {}
  for (const name of await fsp.readdir(root)) originals[name] = await sha256(join(root, name))

  const init = await clean(['init', '.'], root)
  expect(init.stderr).toContain(`  duplicate dup\\x1b[2J.png (same bytes as img_0001; not imported)\n`)
  expect(init.stderr).toMatch(
    new RegExp(`\\n  skipped bad\\\\x07x\\\\x1b\\]52;c;cHduZWQ=\\\\x07\\.jpg: [^\\n]+\\n`, 'u'),
  )

  // A state and vocabulary as a hostile clone could carry them (lora itself refuses such tags).
  const statePath = join(root, '.lora-tagger', 'state.json')
  const state = JSON.parse(await fsp.readFile(statePath, 'utf8'))
  state.images[1].tags = [OSC52, 'smile\u202e']
  state.images[1].status = 'tagged'
  await fsp.writeFile(statePath, JSON.stringify(state))
  await fsp.writeFile(join(root, 'output', 'img_0002.txt'), `${OSC52}, smile\u202e\n`)
  await fsp.appendFile(join(root, 'output', 'tags.txt'), '\u001b[2Jclear\n')
  await fsp.rm(join(root, '.lora-tagger', 'cache'), {recursive: true, force: true})
  return {root, originals}
}

describe('text from files and names is printed escaped', () => {
  it('status (fast path and oclif), tags, next --print, and JSON', async () => {
    const {root, originals} = await hostileDataset()
    const status = await clean(['status'], root)
    expect(status.stdout).toContain(`Top tags: smile<U+202E> (1), ${OSC52_SHOWN} (1)\n`)
    expect(status.stdout).toContain('Duplicates (not imported): 1\n  dup\\x1b[2J.png = img_0001\n')
    expect(status.stdout).toContain(`Problem files (not imported): 1\n  bad\\x07${OSC52_SHOWN}.jpg: `)
    const viaOclif = await clean(['status'], root, {LORA_NO_FAST_PATH: '1'})
    expect(viaOclif.stdout).toBe(status.stdout)

    for (const env of [{}, {LORA_NO_FAST_PATH: '1'}]) {
      const json = await lora(['status', '--json'], root, env)
      expect(json.code).toBe(0)
      expect(json.stdout).not.toMatch(RAW_C0)
      expect(json.stdout).toContain('"tag": "x\\u001b]52;c;cHduZWQ=\\u0007"')
      const report = JSON.parse(json.stdout)
      expect(report.topTags.map((t: {tag: string}) => t.tag).sort()).toEqual([OSC52, 'smile\u202e'].sort())
      expect(report.duplicates).toEqual([{source: DUP_NAME, of: 'img_0001'}])
    }

    const tags = await clean(['tags'], root)
    expect(tags.stdout).toBe(`1  smile<U+202E>\n1  ${OSC52_SHOWN}\n`)
    const unused = await clean(['tags', '--unused'], root)
    expect(unused.stdout).toBe('0  \\x1b[2Jclear\n')
    const next = await lora(['next', '--print', '--json'], root)
    expect(next.stdout).not.toMatch(RAW_C0)
    expect(JSON.parse(next.stdout)).toMatchObject({id: 'img_0001', source: BIDI_NAME})
    expect(next.stdout).toContain('"source": "a\u202egnp.png"')

    for (const [name, sha] of Object.entries(originals)) expect(await sha256(join(root, name))).toBe(sha)
  })

  it('error messages quoting arguments, file names and flags', async () => {
    const {root} = await hostileDataset()
    const noMatch = await clean(['tag', 'no\u001b[2Jpe', '--add', 'x'], root, {}, 2)
    expect(noMatch.stderr.split('\n')[0]).toBe('error: No image matches "no\\x1b[2Jpe".')
    const notFolder = await clean(['init', `gone${OSC52}`], root, {}, 2)
    expect(notFolder.stderr.split('\n')[0]).toBe(`error: gone${OSC52_SHOWN} does not exist.`)
    const badFlag = await clean(['status', '--bo\u001b[2Jgus'], root, {}, 2)
    expect(badFlag.stderr).toContain('--bo\\x1b[2Jgus')
    const bidiRef = await clean(['blame', 'cat\u202egpj.exe'], root, {}, 2)
    expect(bidiRef.stderr.split('\n')[0]).toBe('error: No image matches "cat<U+202E>gpj.exe".')
  })
})

describe('git text is printed escaped', () => {
  it('log and blame show an author with ESC, a subject with a bidi override, and tags with OSC 52 escaped', async () => {
    const root = join(await tempDir('lora-hostile-git-'), 'imgs')
    await fsp.mkdir(root, {recursive: true})
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(root, 'horse.png'))
    await clean(['init', '.', '--git'], root)
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `horse, ${OSC52}\n`)
    execFileSync('git', ['commit', '-q', '-m', 'innocent \u202etxt.exe', '--', 'output/img_0001.txt'], {
      cwd: root,
      env: {...cleanEnv(), ...GIT_ENV, GIT_AUTHOR_NAME: 'Mallory\u001b[2J\u001b]52;c;cHduZWQ=\u0007 (ok)'},
      stdio: 'pipe',
    })
    const author = 'Mallory\\x1b[2J\\x1b]52;c;cHduZWQ=\\x07 (ok)'
    const log = await clean(['log'], root)
    expect(log.stdout).toMatch(
      new RegExp(
        `^[0-9a-f]{7} \\d{4}-\\d\\d-\\d\\d ${escapeRe(author)}  img_0001  \\+horse \\+${escapeRe(OSC52_SHOWN)}\\n`,
        'u',
      ),
    )
    const blame = await clean(['blame', 'img_0001'], root)
    expect(blame.stdout).toMatch(
      new RegExp(
        `^horse {${OSC52_SHOWN.length - 5 + 2}}[0-9a-f]{7} \\d{4}-\\d\\d-\\d\\d ${escapeRe(author)}  innocent <U\\+202E>txt\\.exe\\n`,
        'u',
      ),
    )
    expect(blame.stdout).toContain(`${OSC52_SHOWN}  `)
    // JSON keeps the text (C0 escaped by JSON itself).
    const json = await lora(['log', '--json'], root)
    expect(json.stdout).not.toMatch(RAW_C0)
    expect(JSON.parse(json.stdout).events[0]).toMatchObject({
      author: 'Mallory\u001b[2J\u001b]52;c;cHduZWQ=\u0007 (ok)',
      added: ['horse', OSC52],
    })

    // A commit that looks like lora's (its trailers) with a hostile subject: undo quotes the subject escaped.
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'horse\n')
    execFileSync(
      'git',
      [
        'commit',
        '-q',
        '-m',
        'tag img_0001: \u001b[2J\u202eevil\n\nLora-Change: tag\nLora-Images: img_0001',
        '--',
        'output/img_0001.txt',
      ],
      {cwd: root, env: {...cleanEnv(), ...GIT_ENV}, stdio: 'pipe'},
    )
    // Undoing it would bring back the caption with the OSC 52 tag, which lora does not take in: refused, the subject
    // quoted escaped.
    const undo = await clean(['undo'], root, {}, 1)
    expect(undo.stderr).toMatch(
      /^error: Cannot undo [0-9a-f]{7} "tag img_0001: \\x1b\[2J<U\+202E>evil": it would bring back a caption holding a tag lora does not take in: img_0001 \(/u,
    )
  })
})

describe('the tag prompt (pseudo-terminal)', () => {
  it("shows the image's name and tags escaped, and refuses a pasted tag holding a bidi or control character", async () => {
    const {root, originals} = await hostileDataset()
    // The next image (img_0001, from the bidi-named original) carries a hand-written caption with hostile tags.
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `horse, smile\u202e\n`)
    const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: 'none'}
    delete env.CI
    const session = new PtySession(['next'], root, env)
    const raw = () => (session as unknown as {raw: string}).raw
    await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
    expect(session.text).toContain('img_0001  a<U+202E>gnp.png  400×328')
    expect(session.text).toMatch(/tags: horse, smile<U\+202E>\r?\n/u)
    // A suggestion from the hostile vocabulary, shown escaped.
    let at = session.send('x')
    await session.waitFor(new RegExp(escapeRe(OSC52_SHOWN), 'u'), at)
    session.send('\u007f')
    // A paste holding a bidi override is refused with a note; the good tag beside it is added.
    at = session.send('ok, pasted\u202eevil\r')
    await session.waitFor(
      /added ok; refused: tag "pasted<U\+202E>evil" holds a bidirectional control character \(U\+202E\)/u,
      at,
    )
    // The hand-written bidi tag is never saved (status --rescan would not take it in): the prompt says so and stays.
    at = session.send('\r')
    await session.waitFor(
      /cannot save: tag "smile<U\+202E>" holds a bidirectional control character \(U\+202E\); remove that tag first/u,
      at,
    )
    // Nor skipped: a skip keeps the caption as it is.
    at = session.send('\u0013')
    await session.waitFor(
      /cannot skip: the caption's tag "smile<U\+202E>" holds a bidirectional control character/u,
      at,
    )
    // ⌫ on an empty line removes the last tag: ok, then the bidi one; ok is added again and the caption saved.
    at = session.send('\u007f')
    await session.waitFor(/removed ok/u, at)
    at = session.send('\u007f')
    await session.waitFor(/removed smile<U\+202E>/u, at)
    at = session.send('ok\r')
    await session.waitFor(/added ok/u, at)
    at = session.send('\r')
    await session.waitFor(/Saved img_0001: [^\n]*\+ok[^\n]* — \d+ pending/u, at)
    expect((await session.exit()).exitCode).toBe(0)
    expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('horse, ok\n')
    // Nothing of it reached the terminal raw: no OSC 52, no BEL, no bidi override.
    expect(raw()).not.toContain('\u001b]52')
    expect(raw()).not.toContain('\u0007')
    expect(raw()).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/u)
    for (const [name, sha] of Object.entries(originals)) expect(await sha256(join(root, name))).toBe(sha)
  }, 30_000)
})

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')
}
