/**
 * Caption text, property-based (fast-check): over generated tag lists full of commas, line breaks, parentheses,
 * backslashes, colons, `#`, odd white space, combining marks, emoji, CJK and 10,000-character tags, what is saved
 * is what is read back. The expected tags come from a model of the README ("File formats"), written here
 * independently of src/: each tag trimmed, inner runs of white space collapsed to one space, split on the
 * separator character (and, when read, on line breaks), empty and repeated tags dropped, everything else kept as
 * typed.
 *
 * 1. src/core/caption.ts: parseCaption(serializeCaption(tags)) equals the model, through the UTF-8 bytes of the
 *    caption file; the text is one line with a trailing newline ('' for no tags); serialising what was read gives
 *    the same text back; normalizeTag agrees with the model.
 * 2. The built CLI: `lora tag --stdin` on a real dataset writes captions, state.json and tags.txt that hold exactly
 *    the model's tags, and `lora tag --json` reports them.
 *
 * Fast mode: 2,000 runs (CLI: 40 lists): each of the 32 special characters and 12 words still comes up hundreds of
 * times, and a 10,000-character tag in about one list of twelve. Full mode (LORA_RELIABILITY_FULL=1): 100,000 runs
 * (CLI: 1,000 lists).
 * fast-check prints the seed and the shrunk counterexample of a failure.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import fc from 'fast-check'
import {normalizeTag, parseCaption, serializeCaption} from '../../src/core/caption.js'
import {cleanup, figures, generateImages, lora, loraOk, mode, readState, tempDir} from './reliability-helpers.js'

const RUNS = mode(2_000, 100_000)
const CLI_LISTS = mode(40, 1_000)
const CLI_BATCH = 20

afterAll(cleanup)

// ---------------------------------------------------------------------------------------------------------------
// The model (README "File formats")

/** White space as JavaScript's `\s` (what "white space" means for the README's trimming and collapsing). */
const WS = /\s+/gu

function modelNormalize(tag: string): string {
  return tag.replace(WS, ' ').replace(/^ | $/gu, '')
}

/** Repeats dropped, case ignored (lower case: `sky` and `SKY` are one tag), the first spelling kept. */
function modelUnique(tags: string[]): string[] {
  const out: string[] = []
  for (const t of tags) if (t !== '' && !out.some((o) => o.toLowerCase() === t.toLowerCase())) out.push(t)
  return out
}

/** Tags as saved then read: normalised (line breaks inside a tag are white space), split on the separator character. */
function modelRoundTrip(tags: string[], separator: string): string[] {
  const sep = separator.trim()
  return modelUnique(
    tags
      .map(modelNormalize)
      .flatMap((t) => t.split(sep))
      .map(modelNormalize),
  )
}

/** Tags typed as one text (`--add`, `--set`, `--stdin`, a caption file): split on line breaks and the separator. */
function modelParseText(text: string, separator: string): string[] {
  const sep = separator.trim()
  return modelUnique(
    text
      .replace(/^\uFEFF/u, '')
      .split(/\r\n|\n|\r/u)
      .flatMap((line) => line.split(sep))
      .map(modelNormalize),
  )
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

const SPECIAL = [
  ',',
  ',',
  ' ',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '(',
  ')',
  '\\',
  ':',
  '_',
  '#',
  '|',
  ';',
  '"',
  "'",
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u200b',
  '\u0301',
  'é',
  'ß',
  'İ',
  '中文',
  '😀',
  '👩‍👩‍👧',
  'ǅ',
]
const WORDS = [
  'red hair',
  'smile',
  '1girl',
  'long_hair',
  '(masterpiece:1.2)',
  'C:\\path',
  '\\(cosplay\\)',
  'score_9',
  '^_^',
  'ohwx',
  'a',
  'b',
]

/** One piece of a tag: a word, a special character, or arbitrary Unicode (no lone surrogates: files are UTF-8). */
const piece = fc.oneof(
  {weight: 4, arbitrary: fc.constantFrom(...WORDS)},
  {weight: 4, arbitrary: fc.constantFrom(...SPECIAL)},
  {weight: 2, arbitrary: fc.string({unit: 'grapheme', maxLength: 6})},
  {weight: 1, arbitrary: fc.string({unit: 'binary-ascii', maxLength: 6})},
)

/** A tag: a few pieces, or (rarely) one of about 10,000 characters. */
const tag = fc.oneof(
  {weight: 60, arbitrary: fc.array(piece, {maxLength: 6}).map((p) => p.join(''))},
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', 'long tag ', 'é,', '中 '), fc.integer({min: 9_990, max: 10_010}))
      .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n)),
  },
)

/** The separators config allows (one separator character, optionally with spaces). */
const separator = fc.constantFrom(', ', ', ', ',', '; ', ' | ', '|')

// ---------------------------------------------------------------------------------------------------------------

describe('caption parse/serialise round trips (src/core/caption.ts)', () => {
  it(
    `what is saved is what is read back, over ${RUNS.toLocaleString('en-US')} generated tag lists`,
    () => {
      let tags10k = 0
      let total = 0
      fc.assert(
        fc.property(fc.array(tag, {maxLength: 24}), separator, (tags, sep) => {
          total++
          if (tags.some((t) => t.length >= 9_990)) tags10k++
          const text = serializeCaption(tags, sep)
          // Through the bytes of a UTF-8 file: the tags read back are the model's.
          const read = parseCaption(Buffer.from(text, 'utf8').toString('utf8'), sep)
          expect(read).toEqual(modelRoundTrip(tags, sep))
          // What was read, saved again: one line with a trailing newline ('' for no tag), read back unchanged, and
          // saved unchanged (stable from the first save on).
          const again = serializeCaption(read, sep)
          if (read.length === 0) expect(again).toBe('')
          else {
            expect(again.endsWith('\n')).toBe(true)
            expect(/[\r\n]/u.test(again.slice(0, -1))).toBe(false)
          }
          expect(parseCaption(again, sep)).toEqual(read)
          expect(serializeCaption(parseCaption(again, sep), sep)).toBe(again)
          // No tag read back holds a separator, a line break, or white space at an end.
          for (const t of read) {
            expect(t).toBe(modelNormalize(t))
            expect(t.includes(sep.trim())).toBe(false)
          }
        }),
        // Two spellings of one tag (a run found it): one tag read back, the first spelling.
        {numRuns: RUNS, examples: [[['a', 'A', 'Sky', 'b', 'SKY'], ', ']]},
      )
      figures('caption property: serialise → parse', {
        'property runs': total,
        'lists with a 10,000-character tag': tags10k,
        failures: 0,
      })
    },
    mode(60_000, 1_800_000),
  )

  it(
    `reading any caption text gives normalised tags, and reading is stable (${RUNS.toLocaleString('en-US')} texts)`,
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(piece, tag), {maxLength: 30}).map((p) => p.join('')),
          separator,
          fc.boolean(),
          (body, sep, bom) => {
            const text = (bom ? '\ufeff' : '') + body
            const read = parseCaption(text, sep)
            expect(read).toEqual(modelParseText(text, sep))
            expect(parseCaption(serializeCaption(read, sep), sep)).toEqual(read)
          },
        ),
        {numRuns: RUNS},
      )
    },
    mode(60_000, 1_800_000),
  )

  it(`normalizeTag trims and collapses white space and keeps everything else (${RUNS.toLocaleString('en-US')} tags)`, () => {
    fc.assert(
      fc.property(tag, (t) => {
        expect(normalizeTag(t)).toBe(modelNormalize(t))
      }),
      {numRuns: RUNS},
    )
  })
})

describe('tags written by the CLI are the tags read back', () => {
  it.each([', ', ' | '])(
    `\`lora tag --stdin\` with separator %j: captions, state.json, tags.txt and --json hold exactly the tags read back (${CLI_LISTS} lists)`,
    async (sep) => {
      const dir = join(await tempDir('lora-rel-prop-'), 'imgs')
      await generateImages(dir, CLI_BATCH)
      await loraOk(['init', '.'], {cwd: dir})
      if (sep !== ', ') {
        const config = join(dir, '.lora-tagger', 'config.yaml')
        await fsp.writeFile(
          config,
          (await fsp.readFile(config, 'utf8')).replace(/^separator: .*$/mu, `separator: ${JSON.stringify(sep)}`),
        )
      }
      // Tags for a line-based protocol: no line breaks (they separate lines); everything else goes.
      const lineTag = tag.map((t) => t.replace(/[\r\n]/gu, ' '))
      const lists = fc.sample(fc.array(lineTag, {maxLength: 12}), {numRuns: CLI_LISTS, seed: 42})
      const violations: string[] = []
      const used = new Set<string>()
      let runs = 0
      for (let start = 0; start < lists.length; start += CLI_BATCH) {
        const batch = lists.slice(start, start + CLI_BATCH)
        const input =
          batch.map((tags, i) => `img_${String(i + 1).padStart(4, '0')}\t${tags.join(', ')}`).join('\n') + '\n'
        const r = await lora(['tag', '--stdin', '--json'], {cwd: dir, input})
        runs++
        if (r.code !== 0) {
          // Refusing an input is allowed, with a clear error (a message and a hint) and nothing changed.
          if (r.code !== 1 && r.code !== 2) violations.push(`batch ${runs}: exit ${r.code}: ${r.stderr.trim()}`)
          else if (!/^error: \S/mu.test(r.stderr) || !/^hint: \S/mu.test(r.stderr))
            violations.push(`batch ${runs}: refused without a clear error: ${r.stderr.trim()}`)
          continue
        }
        const report = JSON.parse(r.stdout) as {images: {id: string; after: string[]}[]}
        const state = await readState(dir)
        for (const [i, tags] of batch.entries()) {
          const id = `img_${String(i + 1).padStart(4, '0')}`
          // Typed on --stdin: split on commas and line breaks (README "lora tag"), normalised.
          const typed = modelParseText(tags.join(', '), ', ')
          for (const t of typed) used.add(t)
          const caption = await fsp.readFile(
            join(dir, 'output', `${state.images[i].file.replace(/\.\w+$/u, '')}.txt`),
            'utf8',
          )
          // What lora reads back from that caption (split on the configured separator's character).
          const readBack = modelParseText(caption, sep)
          const expected = sep === ', ' ? typed : readBack
          const want = expected.length === 0 ? '' : expected.join(sep) + '\n'
          if (sep === ', ' && caption !== want)
            violations.push(
              `${id} ← ${JSON.stringify(tags).slice(0, 200)}: caption ${JSON.stringify(caption).slice(0, 200)}, expected ${JSON.stringify(want).slice(0, 200)}`,
            )
          if (JSON.stringify(readBack) !== JSON.stringify(state.images[i].tags))
            violations.push(
              `${id} ← ${JSON.stringify(tags).slice(0, 120)}: saved tags ${JSON.stringify(state.images[i].tags).slice(0, 160)} (state.json) are not the tags read back from the caption ${JSON.stringify(caption).slice(0, 160)}`,
            )
          const reported = report.images.find((x) => x.id === id)
          if (JSON.stringify(reported?.after) !== JSON.stringify(state.images[i].tags))
            violations.push(
              `${id}: --json after ${JSON.stringify(reported?.after).slice(0, 200)} is not what state.json holds`,
            )
          if (state.images[i].status !== (state.images[i].tags.length > 0 ? 'tagged' : 'pending'))
            violations.push(`${id}: status ${state.images[i].status} with ${state.images[i].tags.length} tags`)
        }
        // tags.txt: every tag in use (README: "every tag used plus any you add by hand").
        const vocabulary = await modelVocabulary(dir)
        const inUse = new Set(state.images.flatMap((i) => i.tags))
        for (const t of inUse)
          if (!vocabulary.has(t))
            violations.push(`batch ${runs}: tag ${JSON.stringify(t).slice(0, 80)} is used but not in tags.txt`)
        if (violations.length > 30) break
      }
      // tags.txt keeps every tag in use across later writes too, a tag starting with `#` included (README: lines
      // starting with `#` are comments when tags.txt is read).
      await loraOk(['tag', '1', '--add', '#hashtag, zz first'], {cwd: dir})
      await loraOk(['tag', '2', '--add', 'zz second'], {cwd: dir})
      const finalState = await readState(dir)
      const finalVocabulary = await modelVocabulary(dir)
      for (const t of new Set(finalState.images.flatMap((i) => i.tags)))
        if (!finalVocabulary.has(t))
          violations.push(
            `after a later write, tag ${JSON.stringify(t).slice(0, 80)} is used but no longer in tags.txt`,
          )
      figures(`caption property through \`lora tag --stdin\`, separator ${JSON.stringify(sep)}`, {
        'tag lists': lists.length,
        'CLI runs': runs,
        'distinct tags written': used.size,
        violations: violations.length,
      })
      expect(violations).toEqual([])
    },
    mode(120_000, 1_800_000),
  )
})

/**
 * tags.txt as the README describes it, read independently of src/core/vocabulary.ts: one tag per line, lines
 * starting with `#` are comments, a leading `\#` stands for `#` (gitignore's escape).
 */
async function modelVocabulary(dir: string): Promise<Set<string>> {
  const lines = (await fsp.readFile(join(dir, 'output', 'tags.txt'), 'utf8')).split('\n')
  return new Set(lines.filter((l) => !l.startsWith('#')).map((l) => (/^\\+#/u.test(l) ? l.slice(1) : l)))
}
