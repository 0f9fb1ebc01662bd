import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {CONFIG_KEYS, DEFAULT_CONFIG, validateConfig} from '../../src/core/config.js'
import {loadConfig} from '../../src/store/dataset.js'
import {ConfigError} from '../../src/errors.js'
import {makeTemp, removeTemp} from '../helpers.js'

/** Calls `fn`, expecting it to throw; returns the error. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw, but nothing was thrown')
}

/** Asserts `doc` is rejected with a ConfigError (exit 1, with a hint) whose message names `key`. */
function expectRejected(doc: unknown, key: string): ConfigError {
  const error = thrown(() => validateConfig(doc))
  expect(error).toBeInstanceOf(ConfigError)
  const e = error as ConfigError
  expect(e.exitCode).toBe(1)
  expect(e.code).toBe('config')
  expect(e.message).toContain(`"${key}"`)
  expect(typeof e.hint).toBe('string')
  expect(e.hint!.length).toBeGreaterThan(0)
  return e
}

describe('validateConfig', () => {
  it('gives the defaults for an empty document', () => {
    expect(validateConfig(null)).toEqual(DEFAULT_CONFIG)
    expect(validateConfig(undefined)).toEqual(DEFAULT_CONFIG)
    expect(validateConfig({})).toEqual(DEFAULT_CONFIG)
    expect(DEFAULT_CONFIG).toEqual({
      prefix: 'img_',
      output: 'output',
      captionExtension: '.txt',
      separator: ', ',
      trigger: null,
      viewer: null,
      tagStyle: 'keep',
      lowercase: false,
      validate: {target: 'generic', minSide: 512, vocabulary: 'open', tokenLimit: 75, rules: {}},
      git: {autoCommit: false},
      curate: {
        distance: 10,
        dark: 0.32,
        light: 0.05,
        blurry: 0.29,
        lowInformation: 3,
        oddAspectRatio: 0.35,
        oddSize: 3,
      },
    })
  })

  it('returns a fresh object, not the shared defaults', () => {
    const config = validateConfig(null)
    config.prefix = 'changed_'
    expect(DEFAULT_CONFIG.prefix).toBe('img_')
    expect(validateConfig({}).prefix).toBe('img_')
  })

  it('fills in defaults for the keys a document leaves out', () => {
    expect(validateConfig({trigger: 'ohwx'})).toEqual({...DEFAULT_CONFIG, trigger: 'ohwx'})
  })

  it('normalises the trigger word as a tag: a no-break space, U+2028/U+2029 or a run of spaces becomes one space', () => {
    for (const raw of ['ohwx\u00a0man', 'ohwx\u2028man', 'ohwx \u2029man', '  ohwx   man '])
      expect([raw, validateConfig({trigger: raw}).trigger]).toEqual([raw, 'ohwx man'])
  })

  it('lists the keys in the order they are written', () => {
    expect(CONFIG_KEYS).toEqual([
      'prefix',
      'output',
      'captionExtension',
      'separator',
      'trigger',
      'viewer',
      'tagStyle',
      'lowercase',
      'validate',
      'git',
      'autotag',
      'curate',
    ])
  })

  it('reads a curate: section over the published defaults, and names a bad one', () => {
    expect(validateConfig({curate: {distance: 6}}).curate).toEqual({...DEFAULT_CONFIG.curate, distance: 6})
    expect(() => validateConfig({curate: {distance: 70}})).toThrow(/Bad value for "curate"/u)
    expect(() => validateConfig({curate: {sharp: 1}})).toThrow(
      expect.objectContaining({hint: expect.stringMatching(/not "sharp"/u)}),
    )
  })

  const valid: Record<string, unknown[]> = {
    prefix: ['img_', 'cat-', 'a.b_', 'x'.repeat(64)],
    output: ['output', 'data/out', 'out put', 'lora-tagger'],
    captionExtension: ['.txt', '.caption', '.TXT', '.a_b-1'],
    separator: [', ', ',', ' | ', ';', ' ,'],
    trigger: [null, 'ohwx', 'my style'],
    viewer: [null, 'none', 'feh --scale-down'],
  }
  for (const [key, values] of Object.entries(valid)) {
    for (const value of values) {
      it(`accepts ${key}: ${JSON.stringify(value)}`, () => {
        expect(validateConfig({[key]: value})).toEqual({...DEFAULT_CONFIG, [key]: value})
      })
    }
  }

  const invalid: Record<string, unknown[]> = {
    prefix: ['a/b', 'a\\b', '.img', 'x'.repeat(65), 42, null, ['img_']],
    output: ['', '   ', '../out', 'a/../../b', 'a\\..\\b', '/abs/out', '.lora-tagger', '.lora-tagger/out', 5, null],
    captionExtension: ['txt', '.', '.t x', '.a/b', '.' + 'a'.repeat(17), null, 1],
    separator: ['', '   ', ',,', '\n', ', \n', 'ab', 0, null],
    trigger: ['', '   ', 'a,b', 'a\nb', 5, true, 'a\uffff', 'a\ufffe', 'a\ufdd0', 'a\u{10ffff}'],
    viewer: ['', '  ', 3, true, ['feh']],
  }
  for (const [key, values] of Object.entries(invalid)) {
    for (const value of values) {
      it(`rejects ${key}: ${JSON.stringify(value)} with a ConfigError naming the key`, () => {
        const e = expectRejected({[key]: value}, key)
        expect(e.message).toMatch(/^Bad value/u)
        expect(e.hint).toContain(`"${key}" must be`)
      })
    }
  }

  it('rejects an output folder inside .lora-tagger however it is spelled', () => {
    expectRejected({output: './.lora-tagger'}, 'output')
    expectRejected({output: './.lora-tagger/out'}, 'output')
  })

  it('rejects an unknown key, naming it and listing the known keys', () => {
    const e = expectRejected({prefix: 'img_', colour: 'red'}, 'colour')
    expect(e.message).toMatch(/^Unknown key "colour"/u)
    for (const key of CONFIG_KEYS) expect(e.hint).toContain(key)
  })

  it('rejects a key differing only in case as unknown', () => {
    const e = expectRejected({Prefix: 'img_'}, 'Prefix')
    expect(e.message).toMatch(/^Unknown key/u)
  })

  it('rejects keys that exist on Object.prototype as unknown (ConfigError "Unknown key", never accepted or a TypeError)', () => {
    const keys = [
      'constructor',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      '__proto__',
    ]
    const outcomes: string[] = []
    for (const key of keys) {
      const doc = JSON.parse(`{${JSON.stringify(key)}: "x"}`) as unknown
      expect(Object.keys(doc as object)).toEqual([key])
      let outcome: string
      try {
        validateConfig(doc)
        outcome = 'accepted'
      } catch (error) {
        outcome = error instanceof ConfigError ? error.message : `${(error as Error).name}: ${(error as Error).message}`
      }
      outcomes.push(`${key} -> ${outcome}`)
    }
    expect(outcomes).toEqual(keys.map((key) => `${key} -> Unknown key "${key}" in config.yaml.`))
  })

  it('names the source file in messages', () => {
    const error = thrown(() => validateConfig({colour: 1}, 'my/config.yaml')) as ConfigError
    expect(error.message).toContain('my/config.yaml')
  })

  for (const doc of ['a string', 42, true, ['prefix', 'img_'], []]) {
    it(`rejects a non-mapping document: ${JSON.stringify(doc)}`, () => {
      const error = thrown(() => validateConfig(doc, 'config.yaml'))
      expect(error).toBeInstanceOf(ConfigError)
      const e = error as ConfigError
      expect(e.exitCode).toBe(1)
      expect(e.message).toContain('must be a mapping')
      expect(e.message).toContain('config.yaml')
      for (const key of CONFIG_KEYS) expect(e.hint).toContain(key)
    })
  }
})

describe('loadConfig', () => {
  let root: string

  beforeEach(async () => {
    root = await makeTemp('lora-config-')
    await fsp.mkdir(join(root, '.lora-tagger'))
  })

  afterEach(async () => {
    await removeTemp(root)
  })

  const write = (text: string) => fsp.writeFile(join(root, '.lora-tagger', 'config.yaml'), text)

  it('gives the defaults when there is no config.yaml', async () => {
    expect(await loadConfig(root)).toEqual(DEFAULT_CONFIG)
  })

  it('gives the defaults for an empty or comment-only config.yaml', async () => {
    await write('')
    expect(await loadConfig(root)).toEqual(DEFAULT_CONFIG)
    await write('# nothing set yet\n\n')
    expect(await loadConfig(root)).toEqual(DEFAULT_CONFIG)
  })

  it('reads every key from a real config.yaml', async () => {
    await write(
      [
        '# lora dataset config',
        'prefix: cat_',
        'output: dataset/out',
        'captionExtension: .caption',
        'separator: " | "',
        'trigger: ohwx',
        'viewer: feh --scale-down',
        'tagStyle: spaces',
        'lowercase: true',
        'validate:',
        '  target: kohya',
        '  minSide: 768',
        '  rules:',
        '    low-resolution: off',
        'curate:',
        '  distance: 6',
        '  blurry: 0.2',
        '',
      ].join('\n'),
    )
    expect(await loadConfig(root)).toEqual({
      prefix: 'cat_',
      output: 'dataset/out',
      captionExtension: '.caption',
      separator: ' | ',
      trigger: 'ohwx',
      viewer: 'feh --scale-down',
      tagStyle: 'spaces',
      lowercase: true,
      validate: {target: 'kohya', minSide: 768, vocabulary: 'open', tokenLimit: 75, rules: {'low-resolution': 'off'}},
      git: {autoCommit: false},
      curate: {...DEFAULT_CONFIG.curate, distance: 6, blurry: 0.2},
    })
  })

  it('reads null values', async () => {
    await write('trigger: null\nviewer: ~\n')
    expect(await loadConfig(root)).toEqual(DEFAULT_CONFIG)
  })

  it('rejects an unknown key in the file with a ConfigError naming the key and the file', async () => {
    await write('prefix: img_\ncolour: red\n')
    const error = await loadConfig(root).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toContain('"colour"')
    expect((error as ConfigError).message).toContain('.lora-tagger/config.yaml')
    expect((error as ConfigError).exitCode).toBe(1)
    expect((error as ConfigError).hint).toBeTruthy()
  })

  it('rejects a bad value in the file', async () => {
    await write('output: ../elsewhere\n')
    await expect(loadConfig(root)).rejects.toThrow(ConfigError)
    await expect(loadConfig(root)).rejects.toThrow(/"output"/u)
  })

  it('rejects a YAML document that is not a mapping', async () => {
    await write('- prefix\n- img_\n')
    await expect(loadConfig(root)).rejects.toThrow(ConfigError)
    await expect(loadConfig(root)).rejects.toThrow(/mapping/u)
  })

  it('rejects bad YAML with a ConfigError naming the file', async () => {
    await write('prefix: [unclosed\noutput: out\n')
    const error = await loadConfig(root).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    const e = error as ConfigError
    expect(e.message).toContain('.lora-tagger/config.yaml')
    expect(e.message).toMatch(/not valid YAML/u)
    expect(e.message).not.toContain('\n')
    expect(e.exitCode).toBe(1)
    expect(e.hint).toBeTruthy()
  })

  it('rejects a prototype key written in YAML as unknown', async () => {
    await write('constructor: x\n')
    const error = await loadConfig(root).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/^Unknown key "constructor"/u)
  })
})

describe('the validate section and tag style keys', () => {
  it('rejects bad validate settings naming the sub-key', () => {
    expect(() => validateConfig({validate: {minSide: 0}})).toThrow(/validate/)
    try {
      validateConfig({validate: {rules: {'empty-caption': 'loud'}}})
      throw new Error('no error')
    } catch (error) {
      expect((error as {hint?: string}).hint).toContain('validate.rules.empty-caption')
    }
    expect(() => validateConfig({validate: {colour: 1}})).toThrow(ConfigError)
    expect(() => validateConfig({validate: {target: 'comfy'}})).toThrow(ConfigError)
  })

  it('checks tagStyle and lowercase', () => {
    expect(validateConfig({tagStyle: 'underscores'}).tagStyle).toBe('underscores')
    expect(() => validateConfig({tagStyle: 'camel'})).toThrow(ConfigError)
    expect(() => validateConfig({lowercase: 'yes'})).toThrow(ConfigError)
  })
})

describe('the git section', () => {
  it('accepts autoCommit and verify, and rejects anything else', () => {
    expect(validateConfig({git: {autoCommit: true}}).git).toEqual({autoCommit: true})
    expect(() => validateConfig({git: {autoCommit: 'yes'}})).toThrow(ConfigError)
    expect(() => validateConfig({git: {push: true}})).toThrow(ConfigError)
    // verify: false skips the repository's commit hooks (README "Config keys"); absent, they run.
    expect(validateConfig({git: {autoCommit: true, verify: false}}).git).toEqual({autoCommit: true, verify: false})
    expect(() => validateConfig({git: {verify: 'no'}})).toThrow(ConfigError)
    expect(() => validateConfig({git: {verify: 'no'}})).toThrow(
      expect.objectContaining({hint: '"git" must be a mapping with verify: true or false.'}),
    )
    expect(() => validateConfig({git: true})).toThrow(ConfigError)
  })
})
