/**
 * Start-up imports: no command's bundle (dist/bundle/commands/, scripts/bundle-commands.js) loads a heavy module when
 * it starts. Read from esbuild's metafile of the build (dist/bundle/meta.json): for every bundle, the modules it
 * loads before its code runs (static imports, and `require` calls of bundled CommonJS code, which run as the bundle
 * loads) must not be one of the heavy packages below, and no heavy package may be inside a bundle at all (they stay
 * in node_modules, loaded by `import()` when a command needs them). Also: no bundle holds oclif's full index (its
 * plugin loader brings the TypeScript compiler) nor the `debug` package, and each stays small. New commands are
 * checked as they are built. And every bundle is pure ASCII. Needs `npm run build`. The fast path's own tests (fast-path.test.ts) check the same at run time for a few commands.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import * as esbuild from 'esbuild'
import {ROOT} from '../helpers.js'

/** The heavy packages: native code, a browser driver, git's wrapper, the YAML parser (the cached config suffices). */
const HEAVY = ['sharp', 'simple-git', 'onnxruntime-node', 'puppeteer-core', 'yaml', 'node-pty']

/**
 * Heavy packages a bundle may hold (pure JavaScript; scripts/bundle-commands.js), with the packages they bring, as
 * long as every import of them from outside those packages is an `import()`: esbuild then wraps their code so that it
 * runs only when that import is reached, never at start-up.
 */
const LAZY_BUNDLED: Record<string, string[]> = {
  'simple-git': [
    'simple-git',
    '@simple-git/argv-parser',
    '@simple-git/args-pathspec',
    '@kwsites/file-exists',
    '@kwsites/promise-deferred',
  ],
}

/** esbuild's metafile, the parts read here. */
interface Metafile {
  inputs: Record<string, {imports: {path: string; kind: string; external?: boolean}[]}>
  outputs: Record<
    string,
    {bytes: number; inputs: Record<string, unknown>; imports: {path: string; kind: string; external?: boolean}[]}
  >
}

/** The package a module specifier or input path belongs to (`@scope/name`, `name`), or undefined for lora's own. */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/')
  const rest = at === -1 ? path : path.slice(at + 'node_modules/'.length)
  if (at === -1 && (path.startsWith('.') || path.startsWith('/') || path.startsWith('node:') || path.includes(':')))
    return undefined
  const parts = rest.split('/')
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

/** What `output` loads at start-up that it must not, and the heavy packages bundled into it. */
function violations(meta: Metafile, output: string): string[] {
  const found: string[] = []
  const {imports, inputs} = meta.outputs[output]
  for (const imported of imports) {
    const name = packageOf(imported.path)
    if (name && HEAVY.includes(name) && imported.kind !== 'dynamic-import')
      found.push(`${imported.kind} of ${imported.path}`)
  }
  const lazyPackages = new Set(Object.values(LAZY_BUNDLED).flat())
  for (const input of Object.keys(inputs)) {
    const name = packageOf(input)
    if (name && lazyPackages.has(name)) continue
    if (name && (HEAVY.includes(name) || name === 'typescript')) found.push(`bundled: ${input}`)
    // oclif's logger gets `debug` from node_modules only when DEBUG is set (scripts/bundle/debug.js).
    if (name === 'debug') found.push(`bundled: ${input}`)
    if (/@oclif\/core\/lib\/(config\/config|config\/plugin|help\/index|main)\.js$/u.test(input))
      found.push(`bundled: ${input}`)
  }
  // A lazily bundled package: every import of it from a module outside its group is an import().
  for (const input of Object.keys(inputs)) {
    const from = packageOf(input)
    for (const imported of meta.inputs[input]?.imports ?? []) {
      const name = packageOf(imported.path)
      if (!name || !lazyPackages.has(name) || (from !== undefined && lazyPackages.has(from))) continue
      if (imported.kind !== 'dynamic-import') found.push(`${imported.kind} of ${imported.path} from ${input}`)
    }
  }
  return found
}

const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'meta.json'), 'utf8')) as Metafile
const bundles = Object.keys(meta.outputs).filter(
  (path) => path.endsWith('.cjs') && path.startsWith('dist/bundle/commands/'),
)

describe('no command loads a heavy module at start-up', () => {
  it('there is a bundle for every command in src/commands', () => {
    const sources = readdirSync(join(ROOT, 'src', 'commands'), {recursive: true, encoding: 'utf8'})
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `dist/bundle/commands/${name.replace(/\.ts$/u, '.cjs')}`)
    expect(sources.length).toBeGreaterThanOrEqual(20)
    expect(bundles.sort()).toEqual(sources.sort())
  })

  it.each(bundles.map((path) => [path.replace(/^dist\/bundle\/commands\//u, '')]))('%s', (name) => {
    const output = `dist/bundle/commands/${name}`
    expect(violations(meta, output)).toEqual([])
    expect(meta.outputs[output].bytes).toBeLessThan(1_000_000)
  })

  it('every bundle is pure ASCII (bin/run.js reads it as latin1, which would garble any other character)', () => {
    for (const output of Object.keys(meta.outputs).filter((path) => path.endsWith('.cjs'))) {
      const bytes = readFileSync(join(ROOT, output))
      const at = bytes.findIndex((byte) => byte > 0x7f)
      expect([output, at === -1 ? 'ASCII' : bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8')]).toEqual([
        output,
        'ASCII',
      ])
    }
  })

  it('the check fails for a bundle that imports sharp, yaml or simple-git at start-up, or bundles sharp or yaml', async () => {
    const probe = async (contents: string, external: string[]) => {
      const result = await esbuild.build({
        stdin: {contents, resolveDir: ROOT, loader: 'ts'},
        bundle: true,
        write: false,
        outfile: join(ROOT, 'dist', 'probe.js'),
        format: 'esm',
        platform: 'node',
        external,
        metafile: true,
        logLevel: 'silent',
      })
      return violations(result.metafile, Object.keys(result.metafile.outputs)[0])
    }
    expect(await probe(`import sharp from 'sharp'\nexport default sharp`, ['sharp'])).toEqual([
      'import-statement of sharp',
    ])
    expect(await probe(`import {parse} from 'yaml'\nexport default parse`, [])).toContainEqual(
      expect.stringMatching(/^bundled: .*node_modules\/yaml\//u),
    )
    expect(await probe(`export const load = () => import('sharp')`, ['sharp'])).toEqual([])
    // simple-git may be bundled, but only behind import() (debug left out, as the build's stand-in does).
    expect(await probe(`export const load = () => import('simple-git')`, ['debug'])).toEqual([])
    expect(await probe(`import {simpleGit} from 'simple-git'\nexport default simpleGit`, ['debug'])).toContainEqual(
      expect.stringMatching(/^import-statement of node_modules\/simple-git\/.* from <stdin>$/u),
    )
  })
})
