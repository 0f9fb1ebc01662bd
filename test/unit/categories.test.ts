/**
 * Category schemes of reference vocabularies (src/core/categories.ts): which scheme a file gets, labels and colours,
 * `--category` names; the scheme carried through the autocomplete index (src/core/tag-index.ts) into suggestions and
 * shown by the tag prompt (src/ui/prompts/tag-prompt.ts, driven with @inquirer/testing). Real tagcomplete rows:
 * test/fixtures/vocab/e621-excerpt.csv and danbooru-excerpt.csv.
 */
import * as fs from 'node:fs'
import {join} from 'node:path'
import {render} from '@inquirer/testing'
import {Chalk} from 'chalk'
import {
  CATEGORY_SCHEMES,
  categoryLabel,
  categoryText,
  namedCategories,
  parseCategories,
  schemeForFile,
} from '../../src/core/categories.js'
import {parseTagcompleteCsv} from '../../src/core/reference.js'
import {TagIndex, indexSections, joinIndexSections} from '../../src/core/tag-index.js'
import {Suggester, closeMatches} from '../../src/core/vocabulary.js'
import {UsageError} from '../../src/errors.js'
import {tagPrompt} from '../../src/ui/prompts/tag-prompt.js'
import {ROOT} from '../helpers.js'

const VOCAB = join(ROOT, 'test', 'fixtures', 'vocab')
const read = (name: string) => fs.readFileSync(join(VOCAB, name), 'utf8')

describe('schemeForFile: the scheme of a well-known tagcomplete file name', () => {
  it("tagcomplete's tags/ folder: danbooru*, e621* by name (case ignored); everything else numbers", () => {
    // The files of DominikDoom/a1111-sd-webui-tagcomplete's tags/ folder.
    expect(
      Object.fromEntries(
        [
          'danbooru.csv',
          'danbooru_e621_merged.csv',
          'e621.csv',
          'e621_sfw.csv',
          'derpibooru.csv',
          'EnglishDictionary.csv',
          'extra-quality-tags.csv',
        ].map((f) => [f, schemeForFile(f)]),
      ),
    ).toEqual({
      'danbooru.csv': 'danbooru',
      'danbooru_e621_merged.csv': 'danbooru',
      'e621.csv': 'e621',
      'e621_sfw.csv': 'e621',
      'derpibooru.csv': 'numbers',
      'EnglishDictionary.csv': 'numbers',
      'extra-quality-tags.csv': 'numbers',
    })
    expect(schemeForFile('/data/tags/Danbooru.CSV')).toBe('danbooru')
    expect(schemeForFile('C:\\tags\\E621.csv')).toBe('e621')
    // Only the file name counts, not a folder named like a site.
    expect(schemeForFile('/data/danbooru/my-tags.csv')).toBe('numbers')
  })
})

describe('labels and colours', () => {
  it('danbooru: 0 general, 1 artist, 3 copyright, 4 character, 5 meta; others as numbers', () => {
    expect(namedCategories('danbooru').map((c) => `${c.number} ${c.name}`)).toEqual([
      '0 general',
      '1 artist',
      '3 copyright',
      '4 character',
      '5 meta',
    ])
    expect(categoryLabel('danbooru', 5)).toEqual({label: 'meta', color: 'yellow'})
    expect(categoryLabel('danbooru', 7)).toEqual({label: 'cat 7'})
  })

  it('e621: 5 is species, 7 meta, 8 lore, 6 invalid', () => {
    expect(namedCategories('e621').map((c) => `${c.number} ${c.name}`)).toEqual([
      '0 general',
      '1 artist',
      '3 copyright',
      '4 character',
      '5 species',
      '6 invalid',
      '7 meta',
      '8 lore',
    ])
    expect(categoryLabel('e621', 5)?.label).toBe('species')
    expect(categoryLabel('e621', 2)).toEqual({label: 'cat 2'})
  })

  it('numbers, an unknown scheme or none: the number, never a name; -1 (plain lists): nothing', () => {
    for (const scheme of ['numbers', 'derpibooru', undefined]) {
      expect(categoryLabel(scheme, 5)).toEqual({label: 'cat 5'})
      expect(categoryText(scheme, 4)).toBe('4')
      expect(categoryLabel(scheme, -1)).toBeUndefined()
    }
    expect(categoryText('e621', 8)).toBe('lore')
    expect(CATEGORY_SCHEMES).toEqual(['danbooru', 'e621', 'numbers'])
  })
})

describe('parseCategories: --category names in a scheme', () => {
  it('names of the scheme or numbers, any case', () => {
    expect(parseCategories('e621', ['species', 'Lore', '4'], 'e621.csv')).toEqual([5, 8, 4])
    expect(parseCategories('danbooru', ['meta', 'general'], 'danbooru.csv')).toEqual([5, 0])
    expect(parseCategories('numbers', ['5', ' 12 '], 'x.csv')).toEqual([5, 12])
  })

  it('a name the scheme lacks is a usage error naming the valid names (and the scheme that has it)', () => {
    const error = (() => {
      try {
        parseCategories('danbooru', ['species'], 'danbooru.csv')
      } catch (e) {
        return e as UsageError
      }
      throw new Error('expected a UsageError')
    })()
    expect(error).toBeInstanceOf(UsageError)
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe('Unknown category "species" for danbooru.csv (categories: danbooru).')
    expect(error.hint).toBe(
      'Use general, artist, copyright, character, meta or their numbers ("species" is a category of e621: --categories e621).',
    )
    expect(() => parseCategories('numbers', ['general'], 'x.csv')).toThrow(UsageError)
    expect(() => parseCategories('e621', ['colour'], 'e621.csv')).toThrow(
      'Unknown category "colour" for e621.csv (categories: e621).',
    )
  })
})

describe('the scheme in the index and the suggestions', () => {
  it('each tag keeps the scheme of its reference through serialize/parse; suggestions carry it', async () => {
    const e621 = (await parseTagcompleteCsv(read('e621-excerpt.csv'), 'e621-excerpt.csv')).map((t) => ({
      ...t,
      scheme: 'e621' as const,
    }))
    const danbooru = (await parseTagcompleteCsv(read('danbooru-excerpt.csv'), 'danbooru-excerpt.csv')).map((t) => ({
      ...t,
      scheme: 'danbooru' as const,
    }))
    const built = TagIndex.build([...danbooru, ...e621], 'test')
    const index = TagIndex.parse(built.serialize())!
    expect(index).toBeDefined()
    const suggester = new Suggester([], new Map(), index)
    // `canid` is e621 species (5); `highres` is danbooru meta (5): the same number, two names.
    expect(suggester.suggest('canid', new Set(), 1)[0]).toMatchObject({tag: 'canid', category: 5, scheme: 'e621'})
    expect(suggester.suggest('highres', new Set(), 1)[0]).toMatchObject({
      tag: 'highres',
      category: 5,
      scheme: 'danbooru',
    })
    // A tag in both (`long_hair`): the row with the higher post count wins, with its own scheme.
    expect(suggester.suggest('long_hair', new Set(), 1)[0]).toMatchObject({category: 0, scheme: 'danbooru'})
    // A dataset tag that is in a reference gets its category and scheme too.
    const own = new Suggester(['mammal'], new Map([['mammal', 2]]), index).suggest('mamm', new Set(), 1)[0]
    expect(own).toMatchObject({tag: 'mammal', count: 2, category: 5, scheme: 'e621'})
    // A tag without a scheme is read in numbers.
    const bare = TagIndex.build([{name: 'x', category: 5, count: 1, aliases: []}], 'bare')
    expect(TagIndex.parse(bare.serialize())!.scheme(0)).toBe('numbers')
  })

  it('an index cached by an older lora (without schemes) is not used: it is rebuilt', () => {
    const bytes = TagIndex.build([{name: 'x', category: 0, count: 1, aliases: [], scheme: 'danbooru'}], 'k').serialize()
    const {header, sections} = indexSections(bytes)!
    expect(TagIndex.parse(joinIndexSections(header, sections))).toBeInstanceOf(TagIndex)
    expect(TagIndex.parse(joinIndexSections({...header, format: 'lora-tag-index 4'}, sections))).toBeUndefined()
    // Format 4's layout: NUL-separated text sections.
    const older = ['{"format":"lora-tag-index 4","size":1,"aliases":0,"words":0,"sourceKey":"k"}', 'x', '', '@', '0']
    expect(TagIndex.parse(Buffer.from(older.join('\0')))).toBeUndefined()
  })
})

describe('the tag prompt shows the category in its reference scheme', () => {
  const suggestions = [
    {tag: 'canid', count: 0, match: 'prefix' as const, category: 5, scheme: 'e621' as const, posts: 919005},
    {tag: 'highres', count: 0, match: 'prefix' as const, category: 5, scheme: 'danbooru' as const, posts: 5256195},
    {tag: 'quality', count: 0, match: 'prefix' as const, category: 5, scheme: 'numbers' as const, posts: 7},
  ]

  it('species for e621, meta for danbooru, `cat 5` for numbers; coloured unless NO_COLOR', async () => {
    for (const level of [0, 1] as const) {
      const {answer, events, getScreen} = await render(tagPrompt, {
        message: 'Tags for img_0001',
        tags: [],
        suggest: () => suggestions,
        color: new Chalk({level}),
      })
      const screen = getScreen({raw: true})
      const line = (tag: string) => screen.split('\n').find((l) => l.includes(tag)) ?? ''
      expect(stripAnsi(line('canid'))).toMatch(/canid\s+species 919\.0k/u)
      expect(stripAnsi(line('highres'))).toMatch(/highres\s+meta 5\.3M/u)
      expect(stripAnsi(line('quality'))).toMatch(/quality\s+cat 5 7/u)
      if (level === 1) {
        // tagcomplete's e621 species colour (tomato) → bright red; danbooru meta (orange) → yellow.
        expect(line('canid')).toContain('\u001B[91mspecies')
        expect(line('highres')).toContain('\u001B[33mmeta')
      } else expect(screen).not.toContain('\u001B[9')
      events.keypress('escape')
      await expect(answer).resolves.toEqual({action: 'quit'})
    }
  })
})

describe('closeMatches (for `lora tags rm` of a tag that is nowhere)', () => {
  const tags = ['watermark', 'long hair', 'smile', 'blue eyes', 'signature', 'red hair', 'hair ribbon', 'Hat']
  it('spacing variants first, then single-error matches; none for a word far from all', async () => {
    expect(await closeMatches('watermrk', tags)).toEqual(['watermark'])
    expect(await closeMatches('longhair', tags)).toEqual(['long hair'])
    expect(await closeMatches('long_hair', tags)).toEqual(['long hair'])
    expect(await closeMatches('watermark', tags)).toEqual([])
    expect(await closeMatches('smiel', tags)).toEqual(['smile'])
    expect(await closeMatches('hta', tags)).toEqual(['Hat'])
    expect(await closeMatches('zzz', tags)).toEqual([])
    expect(await closeMatches('', tags)).toEqual([])
    expect(await closeMatches('x', [])).toEqual([])
    expect((await closeMatches('hair', tags, 2)).length).toBe(2)
  })
})

/** Text without ANSI colour codes. */
function stripAnsi(text: string): string {
  return text.replace(/\u001B\[[0-9;]*m/gu, '')
}
