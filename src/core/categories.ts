/**
 * Category schemes of reference vocabularies. A tagcomplete CSV gives each tag a category number, and what the
 * number means depends on the site the list was made from: 5 is "meta" on danbooru and "species" on e621. So every
 * reference vocabulary carries a scheme (`lora tags import --categories`, stored in its header), and every label,
 * colour and `--category` name is read through it. A scheme lora does not know shows the bare numbers: never a
 * name from another site.
 *
 * Sources:
 * - `danbooru`: Danbooru's tag categories, 0 general, 1 artist, 3 copyright, 4 character, 5 meta (2 is unused).
 *   Numbers and colours as the a1111 tagcomplete extension shows them: DominikDoom/a1111-sd-webui-tagcomplete,
 *   `scripts/tag_autocomplete_helper.py`, the `danbooru` entry of its default colour table (`tac_colormap`:
 *   lightblue, indianred, violet, lightgreen, orange), used for its `tags/danbooru.csv`.
 * - `e621`: e621's tag categories as written in tagcomplete's `tags/e621.csv` and `tags/e621_sfw.csv`: 0 general,
 *   1 artist, 3 copyright, 4 character, 5 species, 6 invalid, 7 meta, 8 lore (2, e621's "contributor", has no entry
 *   in tagcomplete's table and shows as a number). Colours: the `e621` entry of the same table (lightblue, gold,
 *   violet, lightgreen, tomato, red, whitesmoke, seagreen).
 * - `numbers`: no names, only the number (any other list: tagcomplete's `derpibooru.csv`, `EnglishDictionary.csv`,
 *   `extra-quality-tags.csv`, a list of one's own).
 * The terminal colours are the nearest of the 16 ANSI colours to tagcomplete's CSS colours (whitesmoke, invisible on
 * a light terminal, becomes grey).
 */
import {UsageError} from '../errors.js'

/** The category schemes lora knows, as `--categories` takes them. */
export const CATEGORY_SCHEMES = ['danbooru', 'e621', 'numbers'] as const

/** A category scheme's name. */
export type CategoryScheme = (typeof CATEGORY_SCHEMES)[number]

/** A terminal colour (a chalk colour name) for a category label. */
export type CategoryColor = 'blue' | 'red' | 'magenta' | 'green' | 'yellow' | 'redBright' | 'gray' | 'cyan'

/** A named category of a scheme. */
export interface NamedCategory {
  number: number
  name: string
  color: CategoryColor
}

const NAMED: Record<Exclude<CategoryScheme, 'numbers'>, readonly NamedCategory[]> = {
  danbooru: [
    {number: 0, name: 'general', color: 'blue'},
    {number: 1, name: 'artist', color: 'red'},
    {number: 3, name: 'copyright', color: 'magenta'},
    {number: 4, name: 'character', color: 'green'},
    {number: 5, name: 'meta', color: 'yellow'},
  ],
  e621: [
    {number: 0, name: 'general', color: 'blue'},
    {number: 1, name: 'artist', color: 'yellow'},
    {number: 3, name: 'copyright', color: 'magenta'},
    {number: 4, name: 'character', color: 'green'},
    {number: 5, name: 'species', color: 'redBright'},
    {number: 6, name: 'invalid', color: 'red'},
    {number: 7, name: 'meta', color: 'gray'},
    {number: 8, name: 'lore', color: 'cyan'},
  ],
}

/** True for a scheme name lora knows. */
export function isCategoryScheme(value: unknown): value is CategoryScheme {
  return typeof value === 'string' && (CATEGORY_SCHEMES as readonly string[]).includes(value)
}

/**
 * The scheme of a well-known tagcomplete file, from its name: `danbooru*.csv` → `danbooru`, `e621*.csv` (also
 * `e621_sfw.csv`) → `e621`, anything else → `numbers`. The test is tagcomplete's own (`javascript/tagAutocomplete.js`:
 * the file name, lower-cased, starts with "danbooru" or "e621"). Its `danbooru_e621_merged.csv` gets `danbooru`:
 * its categories 0–5 are danbooru's, and its e621 categories (moved to 7–15) show as numbers.
 * @param fileName a file name or path (only the last segment counts)
 */
export function schemeForFile(fileName: string): CategoryScheme {
  const base = (fileName.split(/[\\/]/u).pop() ?? '').toLowerCase()
  if (base.startsWith('danbooru')) return 'danbooru'
  if (base.startsWith('e621')) return 'e621'
  return 'numbers'
}

/** The named categories of a scheme ([] for `numbers` and for a scheme lora does not know). */
export function namedCategories(scheme: string | undefined): readonly NamedCategory[] {
  return scheme === 'danbooru' || scheme === 'e621' ? NAMED[scheme] : []
}

/**
 * How a category shows: its name and colour in the scheme, else the number itself (no colour). Undefined for -1,
 * "no category" (a plain text list).
 * @param scheme the reference's scheme; an unknown one (or none) shows numbers
 */
export function categoryLabel(
  scheme: string | undefined,
  category: number,
): {label: string; color?: CategoryColor} | undefined {
  if (category < 0) return undefined
  const named = namedCategories(scheme).find((c) => c.number === category)
  return named ? {label: named.name, color: named.color} : {label: `cat ${category}`}
}

/** A category's name in the scheme, or its number as text. */
export function categoryText(scheme: string | undefined, category: number): string {
  return namedCategories(scheme).find((c) => c.number === category)?.name ?? String(category)
}

/**
 * Reads `--category` values (names or numbers) in a scheme.
 * @param scheme the reference's scheme
 * @param values names (`species`) or whole numbers, as typed; case is ignored
 * @param what the reference, for the message (`e621.csv`)
 * @throws UsageError (exit 2) for a name the scheme does not have, naming the valid names
 */
export function parseCategories(scheme: CategoryScheme, values: readonly string[], what: string): number[] {
  const named = namedCategories(scheme)
  return values.map((raw) => {
    const value = raw.trim().toLowerCase()
    if (/^\d+$/u.test(value)) return Number(value)
    const found = named.find((c) => c.name === value)
    if (found) return found.number
    const others = CATEGORY_SCHEMES.filter((s) => s !== scheme && namedCategories(s).some((c) => c.name === value))
    const elsewhere = others.length
      ? ` ("${value}" is a category of ${others.join(', ')}: --categories ${others[0]})`
      : ''
    throw new UsageError(
      `Unknown category "${raw.trim()}" for ${what} (categories: ${scheme}).`,
      named.length
        ? `Use ${named.map((c) => c.name).join(', ')} or their numbers${elsewhere}.`
        : `Its categories have no names: give numbers${elsewhere || ', or --categories danbooru|e621 when the file is from one of them'}.`,
    )
  })
}
