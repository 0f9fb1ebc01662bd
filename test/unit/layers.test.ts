/**
 * The layer rule of eslint.config.js can fail. ESLint's Node API lints small in-memory files (`lintText` with a
 * path inside a layer's folder, nothing written) that import a real file of another layer: every upward import
 * (static, `import type`, re-export, dynamic `import()`, `import('…')` in a type) is an error, downward and sideways
 * imports pass. Also: `node:fs`/`node:child_process` and the I/O packages only in adapters/, and core/ imports no `node:`
 * module but `node:path` and no I/O package. Only the layer rules run here (no type information), so each case takes milliseconds.
 */
import {readdirSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {ESLint} from 'eslint'
import tseslint from 'typescript-eslint'
import {ROOT} from '../helpers.js'

/** The layers, top to bottom, as the README's architecture paragraph states them (folders of src/, or a file). */
const LAYERS: string[][] = [['commands', 'cli'], ['ui'], ['services'], ['store'], ['adapters'], ['core'], ['errors.ts']]
/** The rules eslint.config.js uses for the layers and the node: modules. */
const LAYER_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports', 'no-restricted-syntax'])

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: tseslint.configs.disableTypeChecked,
  ruleFilter: ({ruleId}) => LAYER_RULES.has(ruleId),
})

/** Where a probe file of a layer folder sits (errors.ts is a one-file layer: the probe takes its place). */
const probeIn = (part: string): string => (part.endsWith('.ts') ? `src/${part}` : `src/${part}/layer-probe.ts`)

/** A real file of a layer folder to import (the first .ts file in it), as a repository-relative path. */
function fileIn(part: string): string {
  if (part.endsWith('.ts')) return `src/${part}`
  const name = readdirSync(join(ROOT, 'src', part))
    .filter((n) => n.endsWith('.ts'))
    .sort()[0]
  if (!name) throw new Error(`src/${part} has no .ts file to import`)
  return `src/${part}/${name}`
}

/** The specifier `from` uses to import `to` (both repository-relative), in the code base's `./x.js` form. */
function specifier(from: string, to: string): string {
  const path = relative(dirname(from), to).replace(/\.ts$/u, '.js')
  return path.startsWith('.') ? path : `./${path}`
}

/** Lints `code` as if it were the file `file`; returns `rule: message` per finding (fails on a parse error). */
async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, {filePath: join(ROOT, file)})
  const fatal = result.messages.find((m) => m.fatal)
  if (fatal) throw new Error(`${file} did not parse: ${fatal.message}`)
  return result.messages.map((m) => `${m.ruleId ?? '?'}: ${m.message}`)
}

const upward: [string, string][] = []
const downward: [string, string][] = []
LAYERS.forEach((layer, index) => {
  for (const from of layer) {
    for (const above of LAYERS.slice(0, index).flat()) upward.push([from, above])
    for (const below of LAYERS.slice(index + 1).flat()) downward.push([from, below])
  }
})

describe('layer rule: no import points up', () => {
  it('covers every pair of layers', () => {
    expect(upward).toHaveLength(2 + 3 + 4 + 5 + 6 + 7) // ui has 2 layers' folders above it, ..., errors.ts 7
    expect(downward).toHaveLength(upward.length)
  })

  it.each(upward)('an import from %s up to %s is an error', async (from, to) => {
    const probe = probeIn(from)
    const messages = await lint(probe, `import {x} from '${specifier(probe, fileIn(to))}'\nexport const y = x\n`)
    expect(messages).toEqual([expect.stringMatching(/^import-x\/no-restricted-paths: .*never up/u)])
  })

  it.each(downward)('an import from %s down to %s passes', async (from, to) => {
    const probe = probeIn(from)
    expect(await lint(probe, `import {x} from '${specifier(probe, fileIn(to))}'\nexport const y = x\n`)).toEqual([])
  })

  it.each(LAYERS.flat().filter((part) => !part.endsWith('.ts')))(
    'an import sideways within %s passes',
    async (part) => {
      const probe = probeIn(part)
      expect(await lint(probe, `import {x} from '${specifier(probe, fileIn(part))}'\nexport const y = x\n`)).toEqual([])
    },
  )

  describe('every import form is checked (core importing services)', () => {
    const probe = probeIn('core')
    const target = specifier(probe, fileIn('services'))
    it.each([
      ['import type', `import type {X} from '${target}'\nexport type Y = X\n`, 'import-x/no-restricted-paths'],
      ['export from', `export {x} from '${target}'\n`, 'import-x/no-restricted-paths'],
      ['export * from', `export * from '${target}'\n`, 'import-x/no-restricted-paths'],
      [
        'dynamic import()',
        `export const load = async () => (await import('${target}')).x\n`,
        'import-x/no-restricted-paths',
      ],
      ['import() in a type', `export type Y = import('${target}').X\n`, 'no-restricted-syntax'],
    ])('%s', async (_form, code, rule) => {
      expect(await lint(probe, code)).toEqual([expect.stringMatching(new RegExp(`^${rule}: `, 'u'))])
    })
  })
})

describe('node: modules by layer', () => {
  const fsRule = /node:fs, node:child_process and the I\/O packages are for src\/adapters\/ only/u
  const coreRule = /src\/core\/ is pure/u

  it.each([
    ['services', `import * as fsp from 'node:fs/promises'\nexport const f = fsp\n`],
    ['services', `import {readFileSync} from 'fs'\nexport const f = readFileSync\n`],
    ['services', `import type {Dirent} from 'node:fs'\nexport type D = Dirent\n`],
    ['services', `export const f = async () => (await import('node:fs/promises')).readFile\n`],
    ['services', `export type D = import('node:fs').Dirent\n`],
    ['ui', `import {spawn} from 'node:child_process'\nexport const f = spawn\n`],
    ['commands', `import * as fs from 'node:fs'\nexport const f = fs\n`],
    ['cli', `export const f = async () => (await import('node:child_process')).spawn\n`],
    ['store', `import * as fs from 'node:fs'\nexport const f = fs\n`],
    ['store', `export type D = import('node:fs').Dirent\n`],
    ['services', `export const f = async () => (await import('fast-glob')).default\n`],
    ['store', `import {simpleGit} from 'simple-git'\nexport const f = simpleGit\n`],
  ])('%s may not import the file system or processes: %j', async (part, code) => {
    expect(await lint(probeIn(part), code)).toEqual([expect.stringMatching(fsRule)])
  })

  it.each([
    [
      'adapters',
      `import * as fsp from 'node:fs/promises'\nimport {spawn} from 'node:child_process'\nexport const f = [fsp, spawn]\n`,
    ],
    ['services', `import {join} from 'node:path'\nimport {tmpdir} from 'node:os'\nexport const f = join(tmpdir())\n`],
  ])('%s may import %j', async (part, code) => {
    expect(await lint(probeIn(part), code)).toEqual([])
  })

  it.each([
    `import {tmpdir} from 'node:os'\nexport const f = tmpdir\n`,
    `import {tmpdir} from 'os'\nexport const f = tmpdir\n`,
    `import {readFile} from 'node:fs/promises'\nexport const f = readFile\n`,
    `export const f = async () => (await import('node:crypto')).createHash\n`,
    `export type H = import('node:crypto').Hash\n`,
  ])('core may not import %j', async (code) => {
    expect(await lint(probeIn('core'), code)).toEqual([expect.stringMatching(coreRule)])
  })

  it.each([
    `export const f = async () => (await import('fast-glob')).default\n`,
    `import sharp from 'sharp'\nexport const f = sharp\n`,
  ])('core may not import the I/O package in %j', async (code) => {
    expect(await lint(probeIn('core'), code)).toEqual([expect.stringMatching(coreRule)])
  })

  it('core may import node:path and pure packages', async () => {
    const code = `import {join} from 'node:path'\nimport {parse} from 'csv-parse/sync'\nexport const f = [join, parse]\n`
    expect(await lint(probeIn('core'), code)).toEqual([])
  })

  it('no file outside src/adapters/ is exempt from the ban (each has the rule on)', async () => {
    const exempt: string[] = []
    for (const part of ['commands', 'cli', 'ui', 'services', 'store']) {
      for (const name of readdirSync(join(ROOT, 'src', part), {recursive: true, encoding: 'utf8'})) {
        if (!name.endsWith('.ts')) continue
        const config = (await eslint.calculateConfigForFile(join(ROOT, 'src', part, name))) as {
          rules: Record<string, unknown>
        }
        if (!('no-restricted-imports' in config.rules)) exempt.push(`src/${part}/${name}`)
      }
    }
    expect(exempt).toEqual([])
  })
})
