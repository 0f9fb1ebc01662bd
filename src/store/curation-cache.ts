/**
 * The curation measures cache: `.lora-tagger/cache/curate/v<CURATION_VERSION>/<image sha256>.json`, one
 * core/curation.ts ImageMeasures record per image, written atomically through the fs adapter after each image is
 * measured (so an interrupted analysis keeps what it finished). Local and derived: never committed (the cache
 * folder is in `.lora-tagger/.gitignore`), safe to delete. A record of another version or image is ignored and the
 * image measured again.
 */
import {join} from 'node:path'
import {CURATION_VERSION, type ImageMeasures, parseMeasures} from '../core/curation.js'
import {type Dataset, readCacheTextSync, writeCacheFile} from './dataset.js'

/** The folder of this analysis version's records. */
export function curationCacheDir(dataset: Dataset): string {
  return join(dataset.paths.meta, 'cache', 'curate', `v${CURATION_VERSION}`)
}

/** The cached measures of the image whose bytes hash to `sha256`, or undefined (none, damaged, another version). */
export function readMeasures(dataset: Dataset, sha256: string): ImageMeasures | undefined {
  if (!/^[0-9a-f]{64}$/u.test(sha256)) return undefined
  try {
    const text = readCacheTextSync(dataset.paths.meta, join(curationCacheDir(dataset), `${sha256}.json`))
    return text === undefined ? undefined : parseMeasures(text, sha256)
  } catch {
    return undefined
  }
}

/** Caches one image's measures (atomically, through the fs adapter). */
export async function writeMeasures(dataset: Dataset, measures: ImageMeasures): Promise<void> {
  if (!/^[0-9a-f]{64}$/u.test(measures.sha256)) return
  await writeCacheFile(
    dataset.paths.meta,
    join(curationCacheDir(dataset), `${measures.sha256}.json`),
    JSON.stringify(measures) + '\n',
  )
}

/**
 * What the last `lora curate` run found, for `lora status` (one small file instead of every image's measures):
 * `.lora-tagger/cache/curate/summary.json`.
 */
export interface CurationSummary {
  /** When the analysis ran (ISO 8601). */
  analysedAt: string
  /** Images analysed (not skipped, with measures). */
  analysed: number
  /** Duplicate groups, and the images in them beside their keepers. */
  groups: number
  duplicates: number
  /** Findings per rule (rules without findings left out). */
  findings: Record<string, number>
}

function summaryPath(dataset: Dataset): string {
  return join(dataset.paths.meta, 'cache', 'curate', 'summary.json')
}

/**
 * The last analysis' summary, or undefined (none yet, or damaged: any field of the wrong type, a count that is not a
 * whole number; a dataset from a stranger may hold anything there, and `lora status` prints it).
 */
export function readCurationSummary(dataset: Dataset): CurationSummary | undefined {
  try {
    const text = readCacheTextSync(dataset.paths.meta, summaryPath(dataset))
    if (text === undefined) return undefined
    const s = JSON.parse(text) as Partial<CurationSummary>
    const ok =
      typeof s.analysedAt === 'string' &&
      typeof s.analysed === 'number' &&
      typeof s.groups === 'number' &&
      typeof s.duplicates === 'number' &&
      typeof s.findings === 'object' &&
      s.findings !== null &&
      !Array.isArray(s.findings) &&
      Object.values(s.findings).every((n) => Number.isInteger(n) && n >= 0)
    return ok ? (s as CurationSummary) : undefined
  } catch {
    return undefined
  }
}

/** Writes the summary of an analysis (atomically, through the fs adapter). */
export async function writeCurationSummary(dataset: Dataset, summary: CurationSummary): Promise<void> {
  await writeCacheFile(dataset.paths.meta, summaryPath(dataset), JSON.stringify(summary) + '\n')
}
