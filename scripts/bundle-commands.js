#!/usr/bin/env node
// `npm run build`, after tsc and `oclif manifest`: bundles every command (src/commands/**/*.ts, found anew on each build, so a new
// command needs nothing here) with esbuild into dist/bundle/commands/<same path>.cjs (CommonJS), each with src/cli/lean.ts (the
// runner bin/run.js calls). A bundle holds the command, lora's modules it imports, and the small packages they import
// at start-up; @oclif/core is reduced to the modules running a command needs (scripts/bundle/oclif-*.js). The
// packages in HEAVY stay outside (loaded from node_modules, only when a command's code reaches its `import()`), and
// so does any package with native code. Writes dist/bundle/meta.json (esbuild's metafile: what each bundle holds,
// read by test/unit/startup-imports.test.ts) and dist/bundle/launch.json (the build's id and the manifest's parts that
// bin/run.js reads; below). Every bundle is pure ASCII (asciiOnly).
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, realpathSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import * as esbuild from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const here = join(root, 'scripts', 'bundle')

/**
 * Packages never bundled: the slow to load (native code, large parsers, browsers) and those a command only needs
 * on some runs. Each must be reached through `import()` (test/e2e/startup-imports.test.ts checks that no bundle
 * imports one at start-up). simple-git and fast-glob (pure JavaScript, ~40 small modules each) are bundled instead,
 * still behind `import()`: esbuild then wraps them so that their code runs only when that `import()` is reached, and
 * loading them costs no module resolution (about 20 ms for simple-git through Node's ESM loader).
 */
export const HEAVY = [
  'sharp',
  'onnxruntime-node',
  'puppeteer-core',
  'yaml',
  'node-pty',
  '@inquirer/prompts',
  'ora',
  'open',
]

/**
 * Modules that oclif's command class, parser and errors require at their top but use only to render help or an
 * error (or to read stdin): in a bundle each of those `require`s becomes a stand-in that loads the module on its first
 * use (`lazyRequirePlugin`, `__loraLazy` in the banner). Specifiers as oclif's compiled files write them; bare names
 * are packages, the others are resolved against @oclif/core/lib.
 */
const LAZY_OCLIF_PACKAGES = ['clean-stack', 'indent-string', 'wrap-ansi', 'ansis', 'supports-color', 'node:readline']
const LAZY_OCLIF_MODULES = [
  'screen',
  'ux/theme',
  'ux/supports-color',
  'ux/colorize-json',
  'ux/action/simple',
  'ux/action/spinner',
  'errors/errors/pretty-print',
  'help/index',
  'help/util',
]

/**
 * Node's built-in modules that a command may never use but that load at the top of a module (node:crypto alone is
 * 3 ms on Node 22, outside its start-up snapshot; node:tty, for `isatty`, loads node:net): in every bundle,
 * `X = require("node:…")` of one of these becomes a stand-in that loads it on first use. Only plain assignments (a named import, or a CommonJS `const`), whose
 * every use reads a property: never a default or namespace import, which esbuild copies (`__toESM`).
 */
const LAZY_BUILTINS = [
  'crypto',
  'readline',
  'readline/promises',
  'child_process',
  'worker_threads',
  'zlib',
  'v8',
  'tty',
]

/** src/commands/**\/*.ts, as esbuild entry names (`tags/rename`) → source paths. */
function commandEntries() {
  const dir = join(root, 'src', 'commands')
  const entries = {}
  for (const entry of readdirSync(dir, {recursive: true, withFileTypes: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue
    const path = join(entry.parentPath ?? entry.path, entry.name)
    entries[relative(dir, path).slice(0, -3).split(sep).join('/')] = path
  }
  return entries
}

/** Each entry re-exports its command and the runner: one module graph per process. */
const entryPlugin = {
  name: 'lora-entries',
  setup(build) {
    build.onResolve({filter: /^lora-entry:/}, (args) => ({
      path: args.path.slice('lora-entry:'.length),
      namespace: 'lora-entry',
    }))
    build.onLoad({filter: /.*/, namespace: 'lora-entry'}, (args) => ({
      contents: `export {default} from ${JSON.stringify(args.path)}\nexport {runLean} from ${JSON.stringify(join(root, 'src', 'cli', 'lean.ts'))}\n`,
      resolveDir: root,
      loader: 'ts',
    }))
  },
}

/** '@oclif/core' from lora's code → the slim index; its config and help modules → stand-ins (scripts/bundle/). */
const oclifPlugin = {
  name: 'oclif-slim',
  setup(build) {
    build.onResolve({filter: /^@oclif\/core$/}, (args) =>
      args.importer.startsWith(join(root, 'src') + sep) ? {path: join(here, 'oclif-core.js')} : undefined,
    )
    build.onResolve({filter: /^\.\/config$/}, (args) =>
      /@oclif[/\\]core[/\\]lib[/\\]command\.js$/u.test(args.importer)
        ? {path: join(here, 'oclif-config.js')}
        : undefined,
    )
    build.onResolve({filter: /^(\.\/help|\.\.\/help\/index)$/}, (args) =>
      /@oclif[/\\]core[/\\]lib[/\\](flags|errors[/\\]handle)\.js$/u.test(args.importer)
        ? {path: join(here, 'oclif-help.js')}
        : undefined,
    )
    build.onResolve({filter: /^\.\/action\/spinner$/}, (args) =>
      /@oclif[/\\]core[/\\]lib[/\\]ux[/\\]index\.js$/u.test(args.importer)
        ? {path: join(here, 'oclif-spinner.js')}
        : undefined,
    )
    // oclif's logger and simple-git (with the small packages it uses): debug loaded only when DEBUG is set (scripts/bundle/debug.js, which requires
    // the real one from node_modules then).
    build.onResolve({filter: /^debug$/}, (args) =>
      /@oclif[/\\]core[/\\]lib[/\\]logger\.js$/u.test(args.importer) ||
      /node_modules[/\\](simple-git|@simple-git|@kwsites)[/\\]/u.test(args.importer)
        ? {path: join(here, 'debug.js')}
        : args.importer === join(here, 'debug.js')
          ? {path: 'debug', external: true}
          : undefined,
    )
    build.onResolve({filter: /^ejs$/}, (args) =>
      /@oclif[/\\]core[/\\]lib[/\\]help[/\\]util\.js$/u.test(args.importer) ? {path: join(here, 'ejs.js')} : undefined,
    )
  },
}

/**
 * `import.meta.url` in lora's modules (the model runtime finds its worker process's script beside itself) is the
 * module's URL in the plain build, dist/<same path>.js, which lies beside dist/bundle/: esbuild's CommonJS output
 * would leave it undefined. The banner's `__loraModuleUrl` makes that URL from the bundle's own path.
 */
const moduleUrlPlugin = {
  name: 'lora-module-url',
  setup(build) {
    build.onLoad({filter: /[/\\]src[/\\].*\.ts$/}, (args) => {
      if (!args.path.startsWith(join(root, 'src') + sep)) return undefined
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return undefined
      const built = relative(join(root, 'src'), args.path).slice(0, -3).split(sep).join('/') + '.js'
      return {contents: source.replaceAll('import.meta.url', `__loraModuleUrl(${JSON.stringify(built)})`), loader: 'ts'}
    })
  },
}

/**
 * In @oclif/core's compiled files, `const x_1 = [__importDefault(|__importStar(]require("…")[)];` of a module in
 * LAZY_OCLIF_* becomes `const x_1 = __loraLazy(() => …)`: the module loads when a property of `x_1` is first read
 * (TypeScript's CommonJS output only ever reads properties of it: `(0, x_1.default)(…)`, `x_1.name`). A module read
 * at another module's top (a class extending one of its classes) just loads then, as before.
 */
const lazyRequirePlugin = {
  name: 'lora-lazy-require',
  setup(build) {
    // esbuild reads packages at their real path (node_modules may be a link).
    const lib = realpathSync(join(root, 'node_modules', '@oclif', 'core', 'lib'))
    const lazyModules = new Set(LAZY_OCLIF_MODULES.map((m) => join(lib, m)))
    build.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\].*\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const contents = source.replace(
        /^(const|var) (\w+) = ((?:__importDefault|__importStar)\()?require\("([^"]+)"\)(\))?;$/gmu,
        (line, kind, name, wrapper, spec, close) => {
          const lazy = spec.startsWith('.')
            ? lazyModules.has(join(dirname(args.path), spec))
            : LAZY_OCLIF_PACKAGES.includes(spec)
          if (!lazy || Boolean(wrapper) !== Boolean(close)) return line
          return `${kind} ${name} = __loraLazy(() => ${wrapper ?? ''}require(${JSON.stringify(spec)})${close ?? ''});`
        },
      )
      return contents === source ? undefined : {contents, loader: 'js'}
    })
  },
}

/**
 * `text` with every non-ASCII UTF-16 unit written as `\uXXXX`, so that bin/run.js can read a bundle as latin1 (one
 * byte per character, cheaper than decoding UTF-8). esbuild (charset ascii, its default) already escapes strings,
 * template literals and identifiers; what it leaves is inside regular expressions (ansis's `[\u001B\u009B]` class holds
 * U+009B as is), where `\uXXXX` is the same character, with or without the `u` flag (a surrogate pair is read as one).
 */
function asciiOnly(text) {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const entries = commandEntries()
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, `lora-entry:${path}`])),
  outdir: join(root, 'dist', 'bundle', 'commands'),
  bundle: true,
  platform: 'node',
  // CommonJS: Node loads it without its ESM loader, and caches its compiled code (Node 22's compile cache, or
  // bin/run.js's code cache on Node 20).
  format: 'cjs',
  outExtension: {'.js': '.cjs'},
  target: 'node20.19',
  external: [...HEAVY, ...HEAVY.map((name) => `${name}/*`)],
  // `import()` of an external package goes through `__loraImport`: under bin/run.js's code cache (Node 20) the
  // bundle runs as a vm.Script, where a plain `import()` cannot load anything; the runner passes its own.
  supported: {'dynamic-import': true},
  banner: {
    js:
      "var __loraImport = typeof __loraImportFromRunner === 'function' ? __loraImportFromRunner : (s) => import(s); " +
      'var __loraLazy = (load) => { let m; return new Proxy({}, {get: (_, k) => (m ??= load())[k], has: (_, k) => k in (m ??= load())}); }; ' +
      "var __loraModuleUrl = (p) => { const path = require('node:path'); const dist = __filename.slice(0, __filename.lastIndexOf(path.sep + 'bundle' + path.sep)); return require('node:url').pathToFileURL(path.join(dist, p)).href; };",
  },
  plugins: [entryPlugin, oclifPlugin, moduleUrlPlugin, lazyRequirePlugin],
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
})
// Every `import()` left in a bundle (of the packages kept outside, and the non-literal ones: the debug package, the
// model runtime) goes through `__loraImport` (see the banner); the banner's own is on the first line.
for (const output of Object.keys(result.metafile.outputs)) {
  if (!output.endsWith('.cjs')) continue
  const path = join(root, output)
  const text = readFileSync(path, 'utf8')
  const newline = text.indexOf('\n')
  const lazyBuiltin = new RegExp(`(?<=[\\w$]\\s*=\\s*)require\\("(node:(?:${LAZY_BUILTINS.join('|')}))"\\)`, 'gu')
  writeFileSync(
    path,
    asciiOnly(
      text.slice(0, newline) +
        text
          .slice(newline)
          .replace(/(?<![\w$.'"`])import\(/gu, '__loraImport(')
          .replace(lazyBuiltin, (_, spec) => `__loraLazy(() => require(${JSON.stringify(spec)}))`),
    ),
  )
}
writeFileSync(join(root, 'dist', 'bundle', 'meta.json'), JSON.stringify(result.metafile))

// What bin/run.js (CommonJS, so that a run never starts Node's ESM loader) needs before it knows what runs: which
// runner takes the invocation, and where the code cache lives. Both pure.
await esbuild.build({
  absWorkingDir: root,
  stdin: {
    contents: `export {planLaunch} from './src/cli/launch.ts'\nexport {cacheDirFor} from './src/core/cache-dir.ts'\n`,
    resolveDir: root,
    loader: 'ts',
  },
  outfile: join(root, 'dist', 'bundle', 'launch.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.19',
  logLevel: 'warning',
})

// What bin/run.js reads instead of the whole oclif.manifest.json (78 KB; `oclif manifest` runs before this script):
// the build's id, and per command what src/cli/launch.ts and the lean runner read (id, aliases, file, whether it
// takes arguments). The build id is a digest of every bundle and of the manifest: bin/run.js keys each bundle's code
// cache with it (besides the bundle's size and mtime), as V8 checks a cache against its source's length only.
const manifestText = readFileSync(join(root, 'oclif.manifest.json'), 'utf8')
const manifest = JSON.parse(manifestText)
const digest = createHash('sha256').update(manifestText)
for (const output of Object.keys(result.metafile.outputs).sort())
  if (output.endsWith('.cjs')) digest.update(output).update(readFileSync(join(root, output)))
digest.update(readFileSync(join(root, 'dist', 'bundle', 'launch.cjs')))
const commands = {}
for (const [key, c] of Object.entries(manifest.commands))
  commands[key] = {
    id: c.id,
    aliases: c.aliases ?? [],
    relativePath: c.relativePath,
    // The lean config's findCommand: oclif's argv normalisation asks only whether a command takes arguments.
    args: Object.fromEntries(Object.keys(c.args ?? {}).map((name) => [name, {}])),
    strict: c.strict,
  }
writeFileSync(
  join(root, 'dist', 'bundle', 'launch.json'),
  JSON.stringify({
    buildId: digest.digest('hex').slice(0, 16),
    manifestSize: Buffer.byteLength(manifestText),
    version: manifest.version,
    commands,
  }),
)
// The manifest, unchanged, is written again as the build's last file: bench/lib.js and test/reliability take a
// manifest newer than every file of dist/ as the mark of a complete build (`npm run build` used to end with it).
writeFileSync(join(root, 'oclif.manifest.json'), manifestText)
