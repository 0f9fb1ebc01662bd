/**
 * Terminal safety and the caption-extension rule, as pure functions (README "Safety model", rules 4 and 7):
 * core/terminal-text.ts, core/caption-extension.ts, and where the user config lives (store/user-config.ts).
 */
import {CAPTION_EXTENSION_RULE, captionExtensionProblem} from '../../src/core/caption-extension.js'
import {
  escapeControls,
  escapeRawControls,
  firstControl,
  hasControls,
  refuseControlFlag,
  refuseControlTags,
  tagControlProblem,
} from '../../src/core/terminal-text.js'
import {validateConfig} from '../../src/core/config.js'
import {ConfigError, UsageError} from '../../src/errors.js'
import {userConfigPath} from '../../src/store/user-config.js'

/** Every character the rule names, and none else: C0, DEL and C1, the bidi embeddings/overrides and isolates. */
const UNSAFE = [
  ...Array.from({length: 0x20}, (_, i) => i),
  ...Array.from({length: 0x21}, (_, i) => 0x7f + i),
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
].map((code) => String.fromCodePoint(code))
/** Neighbours that must pass: printable ASCII, Latin-1 letters, LRM/RLM, ZWJ, emoji, CJK. */
const SAFE = [
  ' ',
  '~',
  '\u00a0',
  'é',
  '\u00ff',
  '\u200e',
  '\u200f',
  '\u200d',
  '\u2029',
  '\u2065',
  '\u206a',
  '\u2070',
  '😀',
  '猫',
]

describe('escapeControls', () => {
  it('escapes exactly the control and bidi characters', () => {
    for (const c of UNSAFE) {
      expect(hasControls(`a${c}b`)).toBe(true)
      const shown = escapeControls(`a${c}b`)
      expect(shown).not.toContain(c)
      expect(hasControls(shown)).toBe(false)
    }
    for (const c of SAFE) {
      expect(hasControls(`a${c}b`)).toBe(false)
      expect(escapeControls(`a${c}b`)).toBe(`a${c}b`)
    }
  })

  it('shows C0/C1 as \\xNN (tab, newline, CR by name) and bidi as <U+XXXX>', () => {
    expect(escapeControls('\u001b]52;c;cHduZWQ=\u0007')).toBe('\\x1b]52;c;cHduZWQ=\\x07')
    expect(escapeControls('\u001b[2J\u001b[31mred')).toBe('\\x1b[2J\\x1b[31mred')
    expect(escapeControls('a\u0000b\u007fc\u0085d\u009be')).toBe('a\\x00b\\x7fc\\x85d\\x9be')
    expect(escapeControls('a\tb\nc\rd')).toBe('a\\tb\\nc\\rd')
    expect(escapeControls('cat\u202egpj.exe')).toBe('cat<U+202E>gpj.exe')
    expect(escapeControls('\u2066x\u2069')).toBe('<U+2066>x<U+2069>')
  })

  it('keeps line breaks and colours only when asked', () => {
    expect(escapeControls('one\ntwo\u001b', {keepNewlines: true})).toBe('one\ntwo\\x1b')
    expect(escapeControls('\u001b[2mdim\u001b[22m \u001b[2J', {keepColors: true})).toBe(
      '\u001b[2mdim\u001b[22m \\x1b[2J',
    )
    expect(escapeControls('\u001b]52;c;x\u0007', {keepColors: true})).toBe('\\x1b]52;c;x\\x07')
  })

  it('names the first such character', () => {
    expect(firstControl('ok')).toBeUndefined()
    expect(firstControl('a\u202eb\u001b')).toBe('U+202E')
    expect(tagControlProblem('red hair')).toBeUndefined()
    expect(tagControlProblem('a\u001b[2Jb')).toBe('tag "a\\x1b[2Jb" holds a control character (U+001B)')
    expect(tagControlProblem('smile\u202e')).toBe(
      'tag "smile<U+202E>" holds a bidirectional control character (U+202E)',
    )
  })
})

describe("escapeRawControls (the Terminal's last line of defence)", () => {
  it('escapes C0 controls but keeps colours, tabs and line feeds; JSON passes unchanged', () => {
    expect(escapeRawControls('\u001b[32m+tag\u001b[39m\tx')).toBe('\u001b[32m+tag\u001b[39m\tx')
    expect(escapeRawControls('a\u001b]52;c;eA==\u0007b\u001b[2J\r')).toBe('a\\x1b]52;c;eA==\\x07b\\x1b[2J\\r')
    const json = JSON.stringify({tag: 'a\u001b[2J\u0007\u0000b', bidi: '\u202e'}, null, 2)
    expect(escapeRawControls(json)).toBe(json)
  })
})

describe('refusing tags and flag values', () => {
  it('refuses the first tag holding a control or bidi character, naming it escaped (exit 2)', () => {
    expect(() => refuseControlTags(['ok', 'fine'], '--add')).not.toThrow()
    let caught: unknown
    try {
      refuseControlTags(['ok', 'x\u001b]52;c;eA==\u0007', 'y\u202e'], '--add')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(UsageError)
    expect((caught as UsageError).exitCode).toBe(2)
    expect((caught as UsageError).message).toBe(
      '--add: tag "x\\x1b]52;c;eA==\\x07" holds a control character (U+001B).',
    )
    expect((caught as UsageError).hint).toContain('Safety model')
  })

  it('refuses flag values', () => {
    expect(() => refuseControlFlag('--prefix', undefined)).not.toThrow()
    expect(() => refuseControlFlag('--prefix', 'char_')).not.toThrow()
    expect(() => refuseControlFlag('--class', 'wo\u202eman')).toThrow(
      '--class "wo<U+202E>man" holds a control or bidirectional character (U+202E).',
    )
  })
})

describe('caption extension', () => {
  it('accepts plain extensions', () => {
    for (const ext of ['.txt', '.caption', '.TXT', '.tags', '.cap_1', '.a-b'])
      expect(captionExtensionProblem(ext)).toBeUndefined()
  })

  it("refuses image extensions in any case, lora's own, and anything that is not a plain extension", () => {
    const cases: [unknown, string][] = [
      ['.jpg', '.jpg is an image extension: caption files would collide with the images'],
      ['.JPG', '.JPG is an image extension'],
      ['.Jpeg', '.Jpeg is an image extension'],
      ['.png', 'image extension'],
      ['.webp', 'image extension'],
      ['.bmp', 'image extension'],
      ['.gif', 'image extension'],
      ['.tif', 'image extension'],
      ['.TIFF', 'image extension'],
      ['.avif', 'image extension'],
      ['.json', '.json is the extension of files lora keeps for itself'],
      ['.YAML', 'lora keeps for itself'],
      ['.yml', 'lora keeps for itself'],
      ['.idx', 'lora keeps for itself'],
      ['.tsv', 'lora keeps for itself'],
      ['.csv', 'lora keeps for itself'],
      ['.jsonl', 'lora keeps for itself'],
      ['.tmp', 'lora keeps for itself'],
      ['.lock', 'lora keeps for itself'],
      ['.gitignore', 'lora keeps for itself'],
      ['txt', '"txt" has no leading dot'],
      ['.a/b', '".a/b" holds a path separator'],
      ['.a\\b', 'holds a path separator'],
      ['./x', 'holds a path separator'],
      ['.', 'not a plain extension'],
      ['..', 'not a plain extension'],
      ['.tar.gz', 'not a plain extension'],
      ['.t xt', 'not a plain extension'],
      ['.x\u001b', 'not a plain extension'],
      ['.abcdefghijklmnopq', 'not a plain extension'],
      ['', 'has no leading dot'],
      [3, 'is not a text value'],
      [null, 'is not a text value'],
    ]
    for (const [value, reason] of cases) expect(captionExtensionProblem(value)).toContain(reason)
  })

  it('is refused when a dataset config is read, naming the key, with a hint', () => {
    let caught: unknown
    try {
      validateConfig({captionExtension: '.PNG'}, '.lora-tagger/config.yaml')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).message).toBe(
      'Bad value for "captionExtension" in .lora-tagger/config.yaml: .PNG is an image extension: caption files would collide with the images.',
    )
    expect((caught as ConfigError).hint).toBe(
      `"captionExtension" must be ${CAPTION_EXTENSION_RULE}. Use .txt (kohya_ss GUI, ai-toolkit, CivitAI) or .caption (sd-scripts' default).`,
    )
  })

  it('the config refuses control and bidi characters in prefix, output, separator and trigger', () => {
    for (const [key, value] of [
      ['prefix', 'img\u001b_'],
      ['output', 'out\u202e'],
      ['separator', '\u0007'],
      ['trigger', 'oh\u001b[2Jwx'],
    ]) {
      expect(() => validateConfig({[key]: value}, 'config.yaml')).toThrow(`Bad value for "${key}" in config.yaml`)
    }
    expect(validateConfig({trigger: 'ohwx', prefix: 'char_'}).trigger).toBe('ohwx')
  })
})

describe('user config path', () => {
  it('follows XDG_CONFIG_HOME (absolute only), else ~/.config; %APPDATA% on Windows', () => {
    expect(userConfigPath({XDG_CONFIG_HOME: '/x/conf'}, 'linux', '/home/u')).toBe('/x/conf/lora/config.yaml')
    expect(userConfigPath({}, 'linux', '/home/u')).toBe('/home/u/.config/lora/config.yaml')
    expect(userConfigPath({XDG_CONFIG_HOME: 'relative'}, 'darwin', '/Users/u')).toBe(
      '/Users/u/.config/lora/config.yaml',
    )
    expect(userConfigPath({APPDATA: 'C:\\Users\\u\\AppData\\Roaming'}, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\lora\\config.yaml',
    )
    expect(userConfigPath({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\lora\\config.yaml')
  })
})
