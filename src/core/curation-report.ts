/**
 * The curation analysis of a dataset from its measures (pure): duplicate groups and findings, in the shape
 * `lora curate --json` reports them (README "Curation"), and the skip reasons `--apply` records.
 */
import {groupNear, hamming, hexToHash} from './curation-hash.js'
import {
  type CurationFinding,
  type CurationRule,
  type CurationSettings,
  findings,
  type ImageMeasures,
} from './curation.js'
import type {ImageRecord} from './state.js'
import {counted} from './plural.js'

/** One image of a duplicate group. */
export interface CurationGroupImage {
  id: string
  file: string
  /** pHash Hamming distance to the keeper, 0–64 (0 for the keeper). */
  distance: number
  /** Pixels as displayed (EXIF orientation applied). */
  width: number
  height: number
}

/**
 * A duplicate group: `exact` when every member has the same decoded pixels (the same picture in different files,
 * such as a PNG and a lossless WebP), else `near` (pHash within the distance). `keep` is the keeper's id; `images`
 * lists the keeper first, then the others by distance.
 */
export interface CurationGroup {
  kind: 'exact' | 'near'
  keep: string
  images: CurationGroupImage[]
}

/** Groups and findings of a set of measured images. */
export interface CurationAnalysis {
  groups: CurationGroup[]
  findings: CurationFinding[]
}

/**
 * Analyses measured images: near-duplicate groups (core/curation-hash.ts groupNear, keeper by pixels, then
 * sharpness, then number), each marked exact when its members' pixels are equal, and the findings of every rule
 * (core/curation.ts findings).
 * @param images the images to analyse with their measures, in id order
 * @param minSide `validate.minSide`, for `low-resolution`
 */
export function analyseMeasures(
  images: readonly {image: ImageRecord; measures: ImageMeasures}[],
  settings: CurationSettings,
  minSide: number,
): CurationAnalysis {
  const byId = new Map(images.map((i) => [i.image.id, i]))
  const near = groupNear(
    images.map(({image, measures}) => ({
      id: image.id,
      n: image.n,
      hash: hexToHash(measures.phash),
      pixels: measures.width * measures.height,
      sharpness: measures.blur,
    })),
    settings.distance,
  )
  const groups = near.map((g): CurationGroup => {
    const members = g.members.map((m) => byId.get(m.id)!)
    const exact = members.every((m) => m.measures.pixels === members[0].measures.pixels)
    return {
      kind: exact ? 'exact' : 'near',
      keep: g.keep,
      images: g.members.map((m) => {
        const {image, measures} = byId.get(m.id)!
        return {id: image.id, file: image.file, distance: m.distance, width: measures.width, height: measures.height}
      }),
    }
  })
  return {
    groups,
    findings: findings(
      images.map(({image, measures}) => ({id: image.id, measures})),
      settings,
      minSide,
    ),
  }
}

/** Images like one image: those within `distance` of its pHash, nearest first, then by number. */
export function similarImages(
  target: ImageMeasures,
  images: readonly {image: ImageRecord; measures: ImageMeasures}[],
  distance: number,
): {image: ImageRecord; distance: number}[] {
  const hash = hexToHash(target.phash)
  return images
    .map(({image, measures}) => ({image, distance: hamming(hash, hexToHash(measures.phash))}))
    .filter((i) => i.distance <= distance)
    .sort((a, b) => a.distance - b.distance || a.image.n - b.image.n)
}

/** One image `--apply` skips, and why (kept in its state record while it stays skipped). */
export interface CurationSkip {
  id: string
  /** `near-duplicate of img_0004 (distance 3)`, `exact duplicate of img_0004`, or a finding's message. */
  reason: string
  /** `near-duplicate`, `exact duplicate`, or the rule. */
  kind: string
}

/**
 * What `lora curate --apply` skips: every non-keeper of each group, and every image with a finding of one of
 * `rules`; an image is skipped once, for its first reason (duplicates first, then rules in the order given).
 */
export function curationSkips(analysis: CurationAnalysis, rules: readonly CurationRule[]): CurationSkip[] {
  const skips = new Map<string, CurationSkip>()
  for (const group of analysis.groups)
    for (const member of group.images) {
      if (member.id === group.keep || skips.has(member.id)) continue
      skips.set(
        member.id,
        group.kind === 'exact'
          ? {id: member.id, kind: 'exact duplicate', reason: `exact duplicate of ${group.keep}`}
          : {
              id: member.id,
              kind: 'near-duplicate',
              reason: `near-duplicate of ${group.keep} (distance ${member.distance})`,
            },
      )
    }
  for (const rule of rules)
    for (const finding of analysis.findings)
      if (finding.rule === rule && !skips.has(finding.id))
        skips.set(finding.id, {id: finding.id, kind: rule, reason: finding.message})
  return [...skips.values()]
}

/**
 * The commit subject of an apply: `curate: skip 6 images (4 near-duplicates, 2 blurry)` (kinds in the order met,
 * plural `s` on the duplicate kinds).
 */
export function curationSubject(skips: readonly CurationSkip[]): string {
  const counts = new Map<string, number>()
  for (const s of skips) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1)
  const parts = [...counts].map(([kind, n]) => (kind.endsWith('duplicate') ? counted(n, kind) : `${n} ${kind}`))
  return `curate: skip ${counted(skips.length, 'image')} (${parts.join(', ')})`
}
