/**
 * `lora validate`, in-process (test/in-process.ts: the built commands run inside jest, same exit code, stdout and
 * stderr as the binary), on real folders — a plain kohya layout without `.lora-tagger/`, each output format, exit
 * codes 0/4/2/3/1, --strict, --rule/--ignore, config rules, and a dataset made by init + tag + export that must
 * validate clean. test/validate/cli.test.ts runs a smoke through bin/run.js. Build first (`npm run build`; `npm
 * test` does).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {removeTemp, ROOT} from '../helpers.js'
import {folder, IMG, type Spec} from '../validate/fixtures.js'
import {lora as run, type RunResult} from './command-helpers.js'

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function tempFolder(files: Record<string, Spec>): Promise<string> {
  const root = await fsp.realpath(await folder(files))
  temps.push(root)
  return root
}

/** Runs `lora ...args` in-process in `cwd`. */
function lora(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(args, {cwd, env})
}

const pair = (stem: string, caption: string | Uint8Array = 'ohwx, red hair, smile\n'): Record<string, Spec> => ({
  [`${stem}.jpg`]: {image: IMG.jpg},
  [`${stem}.txt`]: caption,
})

/** A plain kohya train_data_dir made by hand (no .lora-tagger/), with one error and one warning. */
const KOHYA_WITH_PROBLEMS: Record<string, Spec> = {
  ...pair('10_ohwx cat/a'),
  '10_ohwx cat/b.png': {image: IMG.png}, // missing-caption (error)
  ...pair('10_ohwx cat/c', 'ohwx, sky,\n'), // empty-tag (warning)
}

describe('lora validate on a plain kohya folder (no .lora-tagger/)', () => {
  it('exits 0 and says so when the folder is clean', async () => {
    const root = await tempFolder({...pair('10_ohwx cat/a'), 'README.md': 'notes'})
    const r = await lora(['validate', root, '--target', 'kohya', '--min-side', '200'], root)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`Checked 1 image and 1 caption file in ${root} (target kohya): no problems.`)
  })

  it('human output: grouped by rule with counts, a fix per rule, summary on stderr, exit 4', async () => {
    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const r = await lora(['validate', root, '--target', 'kohya', '--min-side', '200'], root)
    expect(r.code).toBe(4)
    expect(r.stdout.split('\n')).toEqual([
      'error   missing-caption (1): an image has no caption file (same stem, the caption extension)',
      '  10_ohwx cat/b.png has no caption file (10_ohwx cat/b.txt).',
      expect.stringMatching(/^ {2}fix: /u),
      '',
      'warning empty-tag (1): a caption has an empty tag (`a,,b`, or a separator at the start or end)',
      '  10_ohwx cat/c.txt has an empty tag (tag 3 of 3: the line ends with a separator).',
      expect.stringMatching(/^ {2}fix: /u),
      '',
      '',
    ])
    expect(r.stderr).toContain('1 error, 1 warning.')
    expect(r.stderr).toContain(`error: Validation failed: 1 error in ${root}.`)
    expect(r.stderr.match(/error:/gu)).toHaveLength(1)
    expect(r.stdout + r.stderr).not.toMatch(/\u001b\[/u) // no colour without a TTY
  })

  it('colours human output when forced (FORCE_COLOR), and not with --no-color', async () => {
    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const forced = await lora(['validate', root, '--min-side', '200'], root, {NO_COLOR: '', FORCE_COLOR: '1'})
    expect(forced.stdout).toMatch(/\u001b\[31m/u)
    const plain = await lora(['validate', root, '--min-side', '200', '--no-color'], root, {
      NO_COLOR: '',
      FORCE_COLOR: '1',
    })
    expect(plain.stdout).not.toMatch(/\u001b\[/u)
  })

  it('--format json: the documented shape on stdout, nothing else; --json is the same', async () => {
    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const r = await lora(['validate', root, '--format', 'json', '--min-side', '200'], root)
    expect(r.code).toBe(4)
    const report = JSON.parse(r.stdout)
    expect(Object.keys(report)).toEqual([
      'version',
      'path',
      'dataset',
      'target',
      'captionExtension',
      'rules',
      'checked',
      'errors',
      'warnings',
      'findings',
    ])
    expect(report).toMatchObject({
      version: 1,
      path: root,
      dataset: null,
      target: 'generic',
      captionExtension: '.txt',
      checked: {images: 3, captions: 2},
      errors: 1,
      warnings: 1,
    })
    expect(report.findings).toEqual([
      {
        rule: 'missing-caption',
        severity: 'error',
        path: '10_ohwx cat/b.png',
        message: '10_ohwx cat/b.png has no caption file (10_ohwx cat/b.txt).',
        hint: expect.any(String),
      },
      {
        rule: 'empty-tag',
        severity: 'warning',
        path: '10_ohwx cat/c.txt',
        message: expect.stringContaining('empty tag'),
        hint: expect.any(String),
      },
    ])
    const alias = await lora(['validate', root, '--json', '--min-side', '200'], root)
    expect(alias.code).toBe(4)
    expect(JSON.parse(alias.stdout)).toEqual(report)
  })

  it('--format github: one workflow annotation per finding, paths relative to the workspace', async () => {
    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const ws = await tempFolder({})
    await fsp.rename(root, join(ws, 'train'))
    const g = await lora(['validate', 'train', '--format', 'github', '--min-side', '200'], ws)
    expect(g.code).toBe(4)
    expect(g.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^::error file=train\/10_ohwx cat\/b\.png,title=lora validate%3A missing-caption::10_ohwx cat\/b\.png has no caption file \(10_ohwx cat\/b\.txt\)\. Fix: /u,
      ),
      expect.stringMatching(/^::warning file=train\/10_ohwx cat\/c\.txt,title=lora validate%3A empty-tag::/u),
    ])
  })

  it('--strict fails on warnings; --ignore and --rule change what fails', async () => {
    const root = await tempFolder({...pair('a'), ...pair('b', 'ohwx, sky,\n')})
    expect((await lora(['validate', root, '--min-side', '200'], root)).code).toBe(0)
    const strict = await lora(['validate', root, '--min-side', '200', '--strict'], root)
    expect(strict.code).toBe(4)
    expect(strict.stderr).toContain('Validation failed: 1 warning (--strict)')
    expect((await lora(['validate', root, '--min-side', '200', '--strict', '--ignore', 'empty-tag'], root)).code).toBe(
      0,
    )
    expect((await lora(['validate', root, '--min-side', '200', '--rule', 'empty-tag:error'], root)).code).toBe(4)
    expect((await lora(['validate', root], root)).code).toBe(0) // low-resolution is a warning
    expect(
      (await lora(['validate', root, '--rule', 'low-resolution:error', '--rule', 'empty-tag:warning'], root)).code,
    ).toBe(4)
  })
})

describe('the summary counts every caption file, the same in human output and --json', () => {
  // Four caption files: a captioned image, an empty caption, a caption without an image, and one beside an image
  // the target does not read (a .gif for kohya). Before, the orphan and the .gif's caption were left out of the count.
  const FILES: Record<string, Spec> = {
    ...pair('10_ohwx cat/a'),
    ...pair('10_ohwx cat/b', ''),
    '10_ohwx cat/gone.txt': 'ohwx, orphan\n',
    '10_ohwx cat/anim.gif': {image: IMG.gif},
    '10_ohwx cat/anim.txt': 'ohwx, moving\n',
    '10_ohwx cat/notes.md': 'not a caption',
  }

  it.each([['human'], ['json'], ['github']])('--format %s: 3 images and 4 caption files', async (format) => {
    const root = await tempFolder(FILES)
    const r = await lora(['validate', root, '--target', 'kohya', '--format', format], root)
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`Checked 3 images and 4 caption files in ${root} (target kohya): `)
    if (format === 'json') expect(JSON.parse(r.stdout).checked).toEqual({images: 3, captions: 4})
  })

  it('--json: checked.captions is the number in the summary line', async () => {
    const root = await tempFolder(FILES)
    const r = await lora(['validate', root, '--target', 'kohya', '--json'], root)
    const {checked} = JSON.parse(r.stdout) as {checked: {images: number; captions: number}}
    expect(r.stderr).toContain(`Checked ${checked.images} images and ${checked.captions} caption files in ${root}`)
    expect(checked.captions).toBe(4)
  })
})

describe('exit codes', () => {
  it('2 for usage errors: unknown rule, bad option value, missing PATH, PATH with -C, --json with --format github', async () => {
    const root = await tempFolder(pair('a'))
    const cases: [string[], RegExp][] = [
      [['validate', root, '--rule', 'nope'], /--rule nope: no such rule/u],
      [['validate', root, '--ignore', 'nope'], /--ignore nope: no such rule/u],
      [['validate', root, '--target', 'comfy'], /Expected --target=comfy to be one of/u],
      [['validate', join(root, 'missing')], /does not exist/u],
      [['validate', join(root, 'a.jpg')], /is not a folder/u],
      [['validate', root, '-C', root], /either PATH or -C/u],
      [['validate', root, '--json', '--format', 'github'], /disagree/u],
    ]
    for (const [args, message] of cases) {
      const r = await lora(args, root)
      expect([args.slice(2).join(' '), r.code]).toEqual([args.slice(2).join(' '), 2])
      expect(r.stderr).toMatch(message)
    }
  })

  it('3 when PATH is omitted and no dataset is found', async () => {
    const empty = await tempFolder({})
    const r = await lora(['validate'], empty)
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('No lora dataset here')
  })

  it('1 for a bad validate section in config.yaml', async () => {
    const root = await tempFolder({
      ...pair('output/img_0001'),
      '.lora-tagger/config.yaml': 'validate:\n  rules:\n    low-res: off\n',
    })
    const r = await lora(['validate', root], root)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('validate.rules.low-res is not a known rule')
  })
})

describe('lora validate on a lora dataset', () => {
  let imgs: string
  beforeAll(async () => {
    imgs = await tempFolder({'a.jpg': {image: IMG.jpg}, 'b.jpg': {image: IMG.jpg2}, 'c.png': {image: IMG.png}})
    expect((await lora(['init', '.', '--trigger', 'ohwx'], imgs)).code).toBe(0)
  })

  it('checks the output folder with the dataset config, found from the current folder (no PATH)', async () => {
    const r = await lora(['validate', '--json'], imgs)
    expect(r.code).toBe(0) // untagged images hold the trigger word only: nothing a trainer fails on
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({
      path: join(imgs, 'output'),
      dataset: imgs,
      captionExtension: '.txt',
      checked: {images: 3, captions: 3},
    })
    expect(report.findings.map((f: {rule: string}) => f.rule)).toEqual([
      'low-resolution',
      'low-resolution',
      'low-resolution',
    ]) // tags.txt is no orphan
    await fsp.writeFile(join(imgs, 'output', 'img_0002.txt'), 'photo, ohwx\n')
    const moved = await lora(['validate', '--json', '--min-side', '200'], imgs)
    expect(moved.code).toBe(4)
    expect(JSON.parse(moved.stdout).findings).toEqual([
      expect.objectContaining({rule: 'missing-trigger', path: 'img_0002.txt'}),
    ])
    await fsp.writeFile(join(imgs, 'output', 'img_0002.txt'), 'ohwx\n')
  })

  it('never reads a caption linked out of the dataset (not even for unknown-tag): an error naming it', async () => {
    const outside = await tempFolder({'secret.txt': 'password_hunter2, ohwx\n'})
    const caption = join(imgs, 'output', 'img_0003.txt')
    const kept = await fsp.readFile(caption)
    await fsp.rm(caption)
    await fsp.symlink(join(outside, 'secret.txt'), caption)
    try {
      const r = await lora(['validate', '--rule', 'unknown-tag', '--json', '--min-side', '200'], imgs)
      expect(r.code).toBe(4)
      expect(r.stdout + r.stderr).not.toContain('password_hunter2')
      const report = JSON.parse(r.stdout)
      expect(report.findings).toEqual([
        expect.objectContaining({rule: 'not-regular-file', severity: 'error', path: 'img_0003.txt'}),
      ])
      expect(report.checked).toEqual({images: 3, captions: 2})
    } finally {
      await fsp.rm(caption)
      await fsp.writeFile(caption, kept)
    }
  })

  it('honours validate.rules from .lora-tagger/config.yaml', async () => {
    const config = join(imgs, '.lora-tagger', 'config.yaml')
    expect((await lora(['validate', imgs, '--strict'], imgs)).code).toBe(4)
    await fsp.writeFile(
      config,
      (await fsp.readFile(config, 'utf8')).replace('rules: {}', 'rules:\n    low-resolution: off'),
    )
    const after = await lora(['validate', imgs, '--json', '--strict'], imgs)
    expect(after.code).toBe(0)
    expect(JSON.parse(after.stdout)).toMatchObject({findings: [], rules: {'missing-caption': 'error'}})
    expect(JSON.parse(after.stdout).rules['low-resolution']).toBeUndefined()
  })

  it('validates clean what `lora export --format folder --repeats 10 --class x` just wrote (target kohya)', async () => {
    expect((await lora(['tag', '--all', '--add', 'photo, outdoors'], imgs)).code).toBe(0)
    const dest = join(await tempFolder({}), 'train')
    const exported = await lora(['export', dest, '--format', 'folder', '--repeats', '10', '--class', 'x'], imgs)
    expect(exported.code).toBe(0)
    const r = await lora(['validate', dest, '--target', 'kohya', '--json'], imgs)
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.errors).toBe(0)
    expect(report).toMatchObject({dataset: null, target: 'kohya', checked: {images: 3, captions: 3}})
    expect(report.findings.every((f: {rule: string}) => f.rule === 'low-resolution')).toBe(true)
    expect(
      (await lora(['validate', dest, '--target', 'kohya', '--trigger', 'ohwx', '--min-side', '200', '--strict'], imgs))
        .code,
    ).toBe(0)
  })
})

describe('integration files', () => {
  it('the fixture dataset CI validates passes with --strict', async () => {
    const r = await lora(
      [
        'validate',
        'test/fixtures/validate/kohya',
        '--target',
        'kohya',
        '--trigger',
        'ohwx',
        '--min-side',
        '200',
        '--strict',
        '--format',
        'github',
      ],
      ROOT,
    )
    expect([r.code, r.stdout]).toEqual([0, ''])
    expect(r.stderr).toContain('Checked 3 images and 3 caption files')
  })

  it('.pre-commit-hooks.yaml declares the lora-validate hook', async () => {
    const {parse} = await import('yaml')
    const hooks = parse(await fsp.readFile(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8'))
    expect(hooks).toEqual([
      expect.objectContaining({id: 'lora-validate', entry: 'lora validate', language: 'node', pass_filenames: false}),
    ])
    const files = new RegExp(hooks[0].files.replace('(?i)', ''), 'iu')
    expect(['a.txt', 'b.caption', 'c.JPG', 'd.webp'].every((f) => files.test(f))).toBe(true)
    expect(files.test('README.md')).toBe(false)
  })
})
