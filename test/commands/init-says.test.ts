/**
 * What `lora init` says (issue 13, "Small lies and silences"), in-process (test/in-process.ts, build first) with the
 * real `git` on real repositories in temp folders:
 * - `--git` names the repository it used (an enclosing one, by its top-level folder) or created, and the commit it
 *   made (short hash and subject); right after it, `git status --porcelain` is clean in the dataset folder, or the
 *   message lists what is left untracked (the originals beside a copied dataset) and the `.gitignore` lines that
 *   hide them, which do make it clean. Layouts: originals moved into the dataset (none left), originals copied
 *   (left inside a new repository), a dataset inside an enclosing repository whose originals are untracked, and
 *   one whose originals the user had committed already.
 * - A new dataset with no images is an error (exit 1, code `no-images`) naming the extensions looked for, with
 *   `--recursive` suggested when subfolders hold images (and how many); nothing is created. A missing folder says
 *   "does not exist" (exit 2).
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanupTemps, copyFixtures, snapshot, tempDir} from '../e2e/e2e-helpers.js'
import {DASH, git, gitLora, gitLoraJson, gitLoraOk, head, porcelain, subject} from '../git-helpers.js'

const JPGS = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg']
const PNGS = ['skimage-horse.png', 'skimage-page.png']
const EXTENSIONS = 'jpg, jpeg, png, webp, bmp, gif, tif, tiff, avif'

afterAll(cleanupTemps)

/** `dir/.gitignore` gets `lines` (as the message says to add them). */
async function addIgnoreLines(dir: string, lines: string[]): Promise<void> {
  await fsp.appendFile(join(dir, '.gitignore'), lines.map((l) => l + '\n').join(''))
}

describe('lora init --git says which repository and which commit, and what is left untracked', () => {
  it('originals moved into the dataset: a new repository, the commit, and a clean `git status`', async () => {
    const dir = join(await tempDir('lora-says-move-'), 'imgs')
    await copyFixtures(dir, JPGS)
    const r = await gitLoraOk(['init', '.', '--git', '--move'], dir)
    const short = (await head(dir)).slice(0, 7)
    expect(r.stderr).toBe(
      `Created dataset ${dir}\n` +
        `  3 images moved to ${join(dir, 'output')}\n` +
        '  0/3 tagged; 3 pending\n' +
        `History: created a git repository in ${dir}; committed the dataset as ${short} "lora: init ${DASH} 3 images".\n` +
        `Nothing in ${dir} is left untracked: \`git status\` is clean there.\n` +
        'Next: `lora next` to tag interactively, or `lora tag` in scripts.\n',
    )
    expect(await porcelain(dir)).toBe('')
  })

  it('originals copied (inside the new repository): lists them as untracked, and the .gitignore line makes status clean', async () => {
    const dir = join(await tempDir('lora-says-copy-'), 'imgs')
    await copyFixtures(dir, [...JPGS, ...PNGS])
    const r = await gitLoraOk(['init', '.', '--git'], dir)
    const short = (await head(dir)).slice(0, 7)
    expect(await subject(dir)).toBe(`lora: init ${DASH} 5 images`)
    expect(r.stderr).toContain(
      `History: created a git repository in ${dir}; committed the dataset as ${short} "lora: init ${DASH} 5 images".\n` +
        `Left untracked in ${dir}: 5 files, the originals lora init read: ${[...JPGS, ...PNGS].join(', ')}. lora commits only the dataset's own files (its output folder and .lora-tagger/).\n` +
        `To keep them out of \`git status\`, add these lines to ${join(dir, '.gitignore')} (and commit it):\n` +
        '  /*.jpg\n' +
        '  /*.png\n' +
        'Or commit them yourself (`git add`); `git status` lists them.\n',
    )
    // What the message says is what git says.
    const untracked = [...JPGS, ...PNGS].sort()
    expect(await porcelain(dir)).toBe(untracked.map((n) => `?? ${n}\n`).join(''))

    // Doing what it says: only the new .gitignore is left, and once committed, git status is clean.
    await addIgnoreLines(dir, ['/*.jpg', '/*.png'])
    expect(await porcelain(dir)).toBe('?? .gitignore\n')
    await git(dir, ['add', '.gitignore'])
    await git(dir, ['commit', '--quiet', '-m', 'ignore the originals'])
    expect(await porcelain(dir)).toBe('')
    // The lines hide the originals only: lora's images in output/ are still committed by the next change.
    await gitLoraOk(['tag', '1', '--add', 'sky'], dir)
    expect(await subject(dir)).toBe('tag img_0001: +sky')
    expect(await porcelain(dir)).toBe('')
  })

  it('one image: the summary and the untracked list say "1 image", "1 file", "it" (singular), not "1 image(s)"', async () => {
    const dir = join(await tempDir('lora-says-one-'), 'imgs')
    await copyFixtures(dir, [PNGS[0]])
    const r = await gitLoraOk(['init', '.', '--git'], dir)
    const short = (await head(dir)).slice(0, 7)
    expect(r.stderr).toBe(
      `Created dataset ${dir}\n` +
        `  1 image copied to ${join(dir, 'output')}\n` +
        '  0/1 tagged; 1 pending\n' +
        `History: created a git repository in ${dir}; committed the dataset as ${short} "lora: init ${DASH} 1 image".\n` +
        `Left untracked in ${dir}: 1 file, the original lora init read: ${PNGS[0]}. lora commits only the dataset's own files (its output folder and .lora-tagger/).\n` +
        `To keep it out of \`git status\`, add these lines to ${join(dir, '.gitignore')} (and commit it):\n` +
        '  /*.png\n' +
        'Or commit it yourself (`git add`); `git status` lists it.\n' +
        'Next: `lora next` to tag interactively, or `lora tag` in scripts.\n',
    )
  })

  it('two images: the plural forms ("2 images", "2 files", "them")', async () => {
    const dir = join(await tempDir('lora-says-two-'), 'imgs')
    await copyFixtures(dir, PNGS)
    const r = await gitLoraOk(['init', '.', '--git'], dir)
    expect(r.stderr).toContain(`  2 images copied to ${join(dir, 'output')}\n`)
    expect(r.stderr).toContain(
      `Left untracked in ${dir}: 2 files, the originals lora init read: ${PNGS.join(', ')}. lora commits only`,
    )
    expect(r.stderr).toContain('Or commit them yourself (`git add`); `git status` lists them.\n')
  })

  it('--json: git {repository, created, lfs, commit, subject, untracked, originals, ignore}', async () => {
    const dir = join(await tempDir('lora-says-json-'), 'imgs')
    await copyFixtures(dir, JPGS)
    await fsp.writeFile(join(dir, 'notes'), 'my notes\n')
    const summary = await gitLoraJson(['init', '.', '--git'], dir)
    expect(summary.git).toEqual({
      repository: dir,
      created: true,
      lfs: false,
      commit: await head(dir),
      subject: `lora: init ${DASH} 3 images`,
      untracked: [...JPGS, 'notes'].sort(),
      originals: 3,
      ignore: ['/*.jpg', '/notes'],
    })
  })

  it('an enclosing repository: names its top level; lists the originals relative to the dataset folder', async () => {
    const top = await tempDir('lora-says-top-')
    await git(top, ['init', '--quiet'])
    const ds = join(top, 'photos', 'set one')
    await copyFixtures(ds, PNGS)
    await copyFixtures(join(ds, 'more'), [JPGS[0]])
    await fsp.writeFile(join(top, 'elsewhere.txt'), 'not the dataset\n')
    const r = await gitLoraOk(['init', ds, '--git', '--recursive'], top)
    const short = (await head(top)).slice(0, 7)
    expect(r.stderr).toContain(
      `History: using the enclosing git repository at ${top}; committed the dataset as ${short} "lora: init ${DASH} 3 images".\n` +
        `Left untracked in ${ds}: 3 files, the originals lora init read: more/${JPGS[0]}, ${PNGS.join(', ')}.`,
    )
    expect(r.stderr).toContain(
      `add these lines to ${join(ds, '.gitignore')} (and commit it):\n  /*.png\n  /more/*.jpg\n`,
    )
    expect(fs.existsSync(join(ds, '.git'))).toBe(false)
    await addIgnoreLines(ds, ['/*.png', '/more/*.jpg'])
    // Only the new .gitignore is left in the dataset folder (elsewhere.txt is the user's, outside it).
    expect(await porcelain(top)).toBe('?? elsewhere.txt\n?? "photos/set one/.gitignore"\n')
  })

  it('an enclosing repository that already tracks the originals: clean, and says so', async () => {
    const top = await tempDir('lora-says-tracked-')
    await git(top, ['init', '--quiet'])
    await copyFixtures(join(top, 'imgs'), PNGS)
    await git(top, ['add', 'imgs'])
    await git(top, ['commit', '--quiet', '-m', 'my photos'])
    const summary = await gitLoraJson(['init', 'imgs', '--git'], top)
    expect(summary.git).toMatchObject({repository: top, created: false, untracked: [], originals: 0, ignore: []})
    const r = await gitLora(['status'], join(top, 'imgs'))
    expect(r.code).toBe(0)
    expect(await porcelain(top)).toBe('')
    // The human form of the same layout (a second dataset beside it).
    await copyFixtures(join(top, 'more'), [JPGS[0]])
    await git(top, ['add', 'more'])
    await git(top, ['commit', '--quiet', '-m', 'more photos'])
    const human = await gitLoraOk(['init', 'more', '--git'], top)
    expect(human.stderr).toContain(`History: using the enclosing git repository at ${top}; committed the dataset as `)
    expect(human.stderr).toContain(
      `Nothing in ${join(top, 'more')} is left untracked: \`git status\` is clean there.\n`,
    )
  })
})

describe('lora init on a folder with no images', () => {
  it('a new dataset: exit 1 naming the extensions, --recursive and the count when subfolders hold images; nothing created', async () => {
    const dir = join(await tempDir('lora-says-none-'), 'imgs')
    await copyFixtures(join(dir, 'a'), [JPGS[0]])
    await copyFixtures(join(dir, 'b', 'c'), [JPGS[1], PNGS[0]])
    await fsp.writeFile(join(dir, 'readme.txt'), 'no images here\n')
    const before = await snapshot(dir)
    const r = await gitLora(['init', '.'], dir)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `error: No images in .: looked for ${EXTENSIONS} files (any case). Nothing was created.\n` +
        'hint: 3 images are in 2 subfolders; to include them: lora init . --recursive\n',
    )
    expect(await snapshot(dir)).toEqual(before)
    // --json: the error is reported on stderr the same way, with its code.
    const json = await gitLora(['init', '.', '--json'], dir)
    expect(json.code).toBe(1)
    expect(json.stderr).toContain('No images in .')
    expect(await snapshot(dir)).toEqual(before)
    // And what the hint says works.
    await gitLoraOk(['init', '.', '--recursive'], dir)
    expect(fs.existsSync(join(dir, 'output', 'img_0003.png'))).toBe(true)
  })

  it("the hint's folder is one shell word (a leading tilde, a quote, a space): pasted, it names that folder", async () => {
    const top = await tempDir('lora-says-quote-')
    // `~root` unquoted is root's home folder to the shell.
    for (const [name, quoted] of [
      ['~root', `'~root'`],
      ["it's $(here)", `'it'\\''s $(here)'`],
    ]) {
      await copyFixtures(join(top, name, 'sub'), [JPGS[0]])
      const r = await gitLora(['init', name], top)
      expect(r.code).toBe(1)
      const hint = /to include it: (.*)\n$/u.exec(r.stderr)?.[1]
      expect(hint).toBe(`lora init ${quoted} --recursive`)
      // The shell reads it back as the one folder name.
      const words = execFileSync('bash', ['-c', `printf '%s\\n' ${hint!.slice('lora init '.length)}`], {
        cwd: top,
        encoding: 'utf8',
      })
      expect(words).toBe(`${name}\n--recursive\n`)
    }
  })

  it('an empty folder (also with --recursive, also with --git): exit 1, no --recursive hint, nothing created', async () => {
    const base = await tempDir('lora-says-empty-')
    const dir = join(base, 'my photos')
    await fsp.mkdir(join(dir, 'sub'), {recursive: true})
    for (const extra of [[], ['--recursive'], ['--git']]) {
      const r = await gitLora(['init', 'my photos', ...extra], base)
      expect(r.code).toBe(1)
      const where = extra[0] === '--recursive' ? 'my photos or its subfolders' : 'my photos'
      expect(r.stderr).toBe(
        `error: No images in ${where}: looked for ${EXTENSIONS} files (any case). Nothing was created.\n` +
          'hint: Give the folder that holds your images (`lora init ./imgs`), or put the images in it.\n',
      )
      expect(fs.readdirSync(dir)).toEqual(['sub'])
    }
  })

  it('the --recursive hint quotes a folder name the shell would split', async () => {
    const base = await tempDir('lora-says-quote-')
    await copyFixtures(join(base, "Ann's photos", 'day 1'), [PNGS[0]])
    const r = await gitLora(['init', "Ann's photos"], base)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `hint: 1 image is in 1 subfolder; to include it: lora init 'Ann'\\''s photos' --recursive\n`,
    )
  })

  it('an existing dataset that finds nothing new is not an error', async () => {
    const dir = join(await tempDir('lora-says-rerun-'), 'imgs')
    await copyFixtures(dir, [PNGS[0]])
    await gitLoraOk(['init', '.', '--move'], dir)
    const r = await gitLoraOk(['init', '.'], dir)
    expect(r.stderr).toContain('0 images copied')
  })

  it('a missing folder (or a path through a file) says "does not exist" (exit 2), nothing created', async () => {
    const base = await tempDir('lora-says-missing-')
    await copyFixtures(base, [PNGS[0]])
    for (const path of ['nope', 'nope/deeper', `${PNGS[0]}/x`]) {
      const r = await gitLora(['init', path], base)
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(
        `error: ${path} does not exist.\nhint: Give the folder that holds your images: \`lora init ./imgs\`.\n`,
      )
    }
    expect(fs.readdirSync(base)).toEqual([PNGS[0]])
  })

  it('an image file instead of its folder: "is not a folder" (exit 2), the hint names the folder it is in', async () => {
    const base = await tempDir('lora-says-file-')
    await copyFixtures(join(base, 'my photos'), [PNGS[0]])
    const path = `my photos/${PNGS[0]}`
    const r = await gitLora(['init', path], base)
    expect([r.code, r.stderr]).toEqual([
      2,
      `error: ${path} is not a folder.\nhint: Give the folder that holds your images, e.g. the one this file is in: \`lora init 'my photos'\`.\n`,
    ])
    expect(fs.readdirSync(join(base, 'my photos'))).toEqual([PNGS[0]])
  })
})
