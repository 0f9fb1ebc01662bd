/**
 * ESLint flat config: typescript-eslint's type-checked rules (strict for src/, recommended for test/) and the layer
 * rule (import-x no-restricted-paths plus node: module bans per folder). Run: `npm run lint` (zero warnings).
 * test/unit/layers.test.ts proves the layer rule fails on upward imports.
 */
import js from '@eslint/js'
import {defineConfig} from 'eslint/config'
import {createNodeResolver, importX} from 'eslint-plugin-import-x'
import {builtinModules} from 'node:module'
import tseslint from 'typescript-eslint'

/**
 * The layers of src/, top to bottom (README "Architecture"). An import may point down (skipping layers is fine) or
 * sideways within one layer, never up. commands/ and cli/ are one layer.
 */
const LAYERS = [
  ['src/commands', 'src/cli'],
  ['src/ui'],
  ['src/services'],
  ['src/store'],
  ['src/adapters'],
  ['src/core'],
  ['src/errors.ts'],
]

/** One no-restricted-paths zone per layer below the top: its files may not import from any layer above it. */
const layerZones = LAYERS.slice(1).map((layer, index) => ({
  target: layer.map((path) => (path.endsWith('.ts') ? `./${path}` : `./${path}/**`)),
  from: LAYERS.slice(0, index + 1)
    .flat()
    .map((path) => `./${path}`),
  message: `Imports point down the layers (${LAYERS.map((layer) => layer.join(', ')).join(' → ')}), never up.`,
}))

/**
 * Modules that touch the disk or spawn processes (Node's and the I/O packages): only adapters/ imports them, so that
 * every file mutation passes the fs adapter's failpoint seam (test/reliability/mutation-seam.test.ts).
 */
const IO_BUILTINS = /^((node:)?(fs|fs\/promises|child_process)|fast-glob|simple-git|open)$/
const IO_MESSAGE = 'node:fs, node:child_process and the I/O packages are for src/adapters/ only.'

/**
 * core/ is pure: of Node's modules it imports node:path only (any other, with or without `node:`), and none of the
 * packages that do I/O.
 */
const CORE_BANNED = new RegExp(
  `^node:(?!path$)|^(${builtinModules.filter((name) => name !== 'path').join('|')})$` +
    '|^(fast-glob|sharp|simple-git|open|image-size/fromFile)$',
)
const CORE_MESSAGE = 'src/core/ is pure: node:path is its only node: module, and I/O packages belong in src/adapters/.'

/**
 * `import('./x.js').T` in a type is not seen by import-x, so relative ones are banned in src/: `import type {T} from
 * './x.js'` says the same and the layer rule checks it.
 */
const RELATIVE_IMPORT_TYPE = {
  selector: 'TSImportType[source.value=/^\\./]',
  message: 'Use `import type` for local modules (the layer rule checks those).',
}

/** Bans modules matching `regex` in every import form: static and re-export, dynamic `import()`, `import()` types. */
function banModules(regex, message) {
  const literal = regex.source.replaceAll('\\/', '/').replaceAll('/', '\\x2F') // esquery's /regex/ cannot hold a slash
  return {
    'no-restricted-imports': ['error', {patterns: [{regex: regex.source, message}]}],
    'no-restricted-syntax': [
      'error',
      {selector: `ImportExpression[source.value=/${literal}/]`, message},
      {selector: `TSImportType[source.value=/${literal}/]`, message},
      RELATIVE_IMPORT_TYPE,
    ],
  }
}

export default defineConfig(
  {ignores: ['dist/', 'coverage/', 'bench/', 'examples/', 'bin/', '*.config.js']},
  {
    files: ['**/*.ts'],
    languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
    linterOptions: {reportUnusedDisableDirectives: 'error'},
  },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    rules: {
      // Numbers in messages (`${n} images`) are the norm; objects, nullish values and booleans stay banned.
      '@typescript-eslint/restrict-template-expressions': ['error', {allowNumber: true}],
      // noUncheckedIndexedAccess is off and parsed JSON/user input is typed optimistically, so this rule calls the
      // runtime guards on state, config and image headers dead code (17 findings, none a dead branch).
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `!` marks invariants TypeScript cannot follow (Map.get on keys the map was built from): 17 uses, each would
      // become a throw no input can reach.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => resolve()` and `() => progress.tick()` callbacks are harmless; other void returns still fail.
      '@typescript-eslint/no-confusing-void-expression': ['error', {ignoreArrowShorthand: true}],
      // oclif types an absent boolean flag as `boolean` but parses it to undefined: `Boolean(flags.x)` is needed.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // `async` is kept on purpose where an interface returns a Promise: a throw then becomes a rejection.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests: the recommended type-checked set (no-floating-promises and await-thenable catch a missing `await`).
    files: ['test/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    rules: {
      // Tests read `--json` output through JSON.parse (`any`) and assert on its members: ~220 findings, no bug.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Same reason: the `json<T = any>()` helpers hand parsed output to assertions.
      '@typescript-eslint/no-explicit-any': 'off',
      // Tests match ANSI colour escapes (`/\u001b\[/`) on purpose.
      'no-control-regex': 'off',
      // As in src/: `async` callbacks without `await` (fixture setups) keep the Promise-returning shape.
      '@typescript-eslint/require-await': 'off',
      // `const {updatedAt: _u, ...rest} = state` drops a key; the omitted name is not an unused variable.
      '@typescript-eslint/no-unused-vars': ['error', {ignoreRestSiblings: true}],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: {'import-x': importX},
    settings: {
      // The sources import `./x.js` for `./x.ts` (NodeNext): resolve those to the .ts files.
      'import-x/resolver-next': [
        createNodeResolver({extensions: ['.ts', '.js'], extensionAlias: {'.js': ['.ts', '.js']}}),
      ],
    },
    rules: {'import-x/no-restricted-paths': ['error', {basePath: import.meta.dirname, zones: layerZones}]},
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/adapters/**', 'src/core/**'],
    rules: banModules(IO_BUILTINS, IO_MESSAGE),
  },
  {
    files: ['src/core/**/*.ts'],
    rules: banModules(CORE_BANNED, CORE_MESSAGE),
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {'no-restricted-syntax': ['error', RELATIVE_IMPORT_TYPE]},
  },
)
