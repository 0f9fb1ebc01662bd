/**
 * Perceptual hashing and near-duplicate grouping for `lora curate` (pure: no I/O).
 *
 * - `phash`: the 64-bit pHash of imagededup (idealo, `imagededup/methods/hashing.py` PHash): the image resized to
 *   32×32 and converted to 8-bit greyscale (PIL `convert('L')`, ITU-R 601 luma), a 2-D DCT-II (scipy `dct` along
 *   the rows, then the columns), the top-left 8×8 coefficients kept, and each bit set when its coefficient is ≥ the
 *   median of those 64 coefficients without the DC term (imagededup's `np.median(flatten(coef)[1:])` and `>=`).
 *   Bits are in row-major order of the 8×8 block, the first coefficient the most significant bit of the 16-digit
 *   hexadecimal form imagededup prints.
 * - `HashIndex`: multi-index hashing (Norouzi et al., "Fast search in Hamming space with multi-index hashing",
 *   2012) over 4 chunks of 16 bits: two hashes within distance r agree within ⌊r/4⌋ bits on at least one chunk
 *   (pigeonhole), so a radius query probes only the chunk values within ⌊r/4⌋ bits of the query's and checks the
 *   few candidates there. No all-pairs comparison.
 * - `groupNear`: connected groups of hashes within a distance, each with its keeper.
 */

/** A 64-bit hash as two unsigned 32-bit halves: `hi` holds bits 63–32 (the first 32 coefficients). */
export interface Hash64 {
  hi: number
  lo: number
}

/** Side of the greyscale square pHash reads (imagededup's `target_size`). */
export const PHASH_INPUT_SIDE = 32

/** ITU-R 601-2 luma of an 8-bit RGB pixel, rounded as PIL `convert('L')` does ((R·299 + G·587 + B·114) / 1000). */
export function luma601(r: number, g: number, b: number): number {
  return ((r * 299 + g * 587 + b * 114 + 500) / 1000) | 0
}

const COS_TABLE: Float64Array = (() => {
  const n = PHASH_INPUT_SIDE
  const table = new Float64Array(n * n)
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++) table[k * n + i] = Math.cos((Math.PI * k * (2 * i + 1)) / (2 * n))
  return table
})()

/**
 * The 64-bit pHash of a 32×32 greyscale image (see the module comment).
 * @param grey 1,024 values 0–255, row-major (`PHASH_INPUT_SIDE` squared)
 * @throws RangeError when `grey` does not hold 32×32 values
 */
export function phash(grey: ArrayLike<number>): Hash64 {
  const n = PHASH_INPUT_SIDE
  if (grey.length !== n * n) throw new RangeError(`phash needs ${n * n} greyscale values, got ${grey.length}`)
  // DCT-II along axis 0 (down each column), then along axis 1 (each row), keeping the 8 lowest frequencies of each.
  // scipy's unnormalised DCT-II is 2·Σ x[i]·cos(πk(2i+1)/2N); the factor 2 scales every coefficient alike, so the
  // bits (comparisons with their median) do not depend on it.
  const cols = new Float64Array(8 * n) // [k][x]: frequency k down column x
  for (let k = 0; k < 8; k++)
    for (let x = 0; x < n; x++) {
      let sum = 0
      for (let y = 0; y < n; y++) sum += grey[y * n + x] * COS_TABLE[k * n + y]
      cols[k * n + x] = sum
    }
  const coef = new Float64Array(64)
  for (let k = 0; k < 8; k++)
    for (let l = 0; l < 8; l++) {
      let sum = 0
      for (let x = 0; x < n; x++) sum += cols[k * n + x] * COS_TABLE[l * n + x]
      coef[k * 8 + l] = sum
    }
  const median = medianOf(Array.from(coef.subarray(1)))
  let hi = 0
  let lo = 0
  for (let i = 0; i < 64; i++) {
    if (coef[i] >= median) {
      if (i < 32) hi |= 1 << (31 - i)
      else lo |= 1 << (63 - i)
    }
  }
  return {hi: hi >>> 0, lo: lo >>> 0}
}

function medianOf(values: number[]): number {
  const sorted = values.sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The 16-digit lowercase hexadecimal form of a hash (imagededup's `encode_image` output). */
export function hashToHex(hash: Hash64): string {
  return hash.hi.toString(16).padStart(8, '0') + hash.lo.toString(16).padStart(8, '0')
}

/**
 * Parses the 16-digit hexadecimal form.
 * @throws RangeError when `hex` is not 16 hexadecimal digits
 */
export function hexToHash(hex: string): Hash64 {
  if (!/^[0-9a-f]{16}$/iu.test(hex)) throw new RangeError(`not a 64-bit hash: ${JSON.stringify(hex)}`)
  return {hi: parseInt(hex.slice(0, 8), 16) >>> 0, lo: parseInt(hex.slice(8), 16) >>> 0}
}

/** Number of set bits of a 32-bit value. */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555)
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

/** Hamming distance of two 64-bit hashes: the number of differing bits, 0–64. */
export function hamming(a: Hash64, b: Hash64): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0)
}

const CHUNKS = 4

function chunkOf(hi: number, lo: number, c: number): number {
  switch (c) {
    case 0:
      return hi >>> 16
    case 1:
      return hi & 0xffff
    case 2:
      return lo >>> 16
    default:
      return lo & 0xffff
  }
}

/** The XOR masks of at most `radius` bits among 16 (radius ≤ 16), the empty mask first; cached per radius. */
const MASKS = new Map<number, Int32Array>()
function masks16(radius: number): Int32Array {
  let masks = MASKS.get(radius)
  if (masks) return masks
  const list = [0]
  const flip = (v: number, from: number, left: number) => {
    for (let b = from; b < 16; b++) {
      const w = v | (1 << b)
      list.push(w)
      if (left > 1) flip(w, b + 1, left - 1)
    }
  }
  if (radius > 0) flip(0, 0, radius)
  masks = Int32Array.from(list)
  MASKS.set(radius, masks)
  return masks
}

/**
 * A multi-index hash table over a fixed list of hashes, for radius queries in Hamming space (see the module
 * comment). Build is O(n); a query costs the probes of ⌊r/4⌋-bit neighbourhoods of 4 chunks plus the candidates
 * found there. `comparisons` counts full-hash distance computations, so tests can prove a grouping is not
 * all-pairs. `take` removes what it finds (grouping: each hash is found once, however many lie close together).
 */
export class HashIndex {
  /** Full-hash distance computations made by queries so far. */
  comparisons = 0
  private readonly his: Uint32Array
  private readonly los: Uint32Array
  /** Per chunk: bucket start offsets (65,537) into `ids`, then the ids sorted by that chunk's value. */
  private readonly starts: Int32Array[] = []
  private readonly ids: Int32Array[] = []
  /** Per chunk: the end of each bucket's part not taken yet (`remove` swaps a hash it takes past it). */
  private readonly ends: Int32Array[] = []
  /** Per chunk: where each index sits in `ids`. */
  private readonly slots: Int32Array[] = []
  /** The indices not taken yet (`live[0..liveCount)`) and where each sits there: `take`'s scan above radius 23. */
  private readonly live: Int32Array
  private readonly liveSlots: Int32Array
  private liveCount: number
  /** 1 for an index taken out (`remove`). */
  private readonly takenFlags: Uint8Array
  /** Whether `remove` has reordered the buckets (then `within` cannot stop a bucket early at `after`). */
  private reordered = false

  /** @param hashes the hashes; a query answers with their indices in this list */
  constructor(hashes: readonly Hash64[]) {
    const n = hashes.length
    this.his = new Uint32Array(n)
    this.los = new Uint32Array(n)
    hashes.forEach((h, i) => {
      this.his[i] = h.hi
      this.los[i] = h.lo
    })
    for (let c = 0; c < CHUNKS; c++) {
      const starts = new Int32Array(65537)
      for (let i = 0; i < n; i++) starts[chunkOf(this.his[i], this.los[i], c) + 1]++
      for (let v = 0; v < 65536; v++) starts[v + 1] += starts[v]
      const fill = starts.slice(0, 65536)
      const ids = new Int32Array(n)
      const slots = new Int32Array(n)
      for (let i = 0; i < n; i++) {
        const slot = fill[chunkOf(this.his[i], this.los[i], c)]++
        ids[slot] = i
        slots[i] = slot
      }
      this.starts.push(starts)
      this.ids.push(ids)
      this.ends.push(starts.slice(1))
      this.slots.push(slots)
    }
    this.live = Int32Array.from({length: n}, (_, i) => i)
    this.liveSlots = Int32Array.from({length: n}, (_, i) => i)
    this.liveCount = n
    this.takenFlags = new Uint8Array(n)
  }

  /** Whether index `i` was taken out (`remove`, `take`). */
  isTaken(i: number): boolean {
    return this.takenFlags[i] === 1
  }

  /**
   * Takes index `i` out: no later `take` finds it (`within` still does). O(1): a swap within each of its buckets,
   * which keeps every bucket whole (the hashes not taken first) but no longer in index order.
   */
  remove(i: number): void {
    if (this.takenFlags[i] === 1) return
    this.takenFlags[i] = 1
    this.reordered = true
    for (let c = 0; c < CHUNKS; c++) {
      const ids = this.ids[c]
      const slots = this.slots[c]
      const last = --this.ends[c][chunkOf(this.his[i], this.los[i], c)]
      const other = ids[last]
      ids[slots[i]] = other
      slots[other] = slots[i]
      ids[last] = i
      slots[i] = last
    }
    const last = --this.liveCount
    const other = this.live[last]
    this.live[this.liveSlots[i]] = other
    this.liveSlots[other] = this.liveSlots[i]
    this.live[last] = i
    this.liveSlots[i] = last
  }

  /**
   * The indices of every hash not taken yet within `radius` bits of `query` (in no set order), each taken out as it
   * is found (`remove`). A query looks only at hashes not taken yet, so a walk that takes n hashes lying close
   * together costs O(n), not the n² of asking `within` about each of them.
   * @param radius 0–64; above 23 every hash not taken yet is compared
   */
  take(query: Hash64, radius: number): number[] {
    const found: number[] = []
    const qh = query.hi
    const ql = query.lo
    const his = this.his
    const los = this.los
    if (radius > 23) {
      // Downwards: the hash `remove` swaps into slot j is one looked at already.
      for (let j = this.liveCount - 1; j >= 0; j--) {
        const i = this.live[j]
        this.comparisons++
        if (popcount32((qh ^ his[i]) >>> 0) + popcount32((ql ^ los[i]) >>> 0) > radius) continue
        this.remove(i)
        found.push(i)
      }
      return found
    }
    const masks = masks16(Math.floor(radius / CHUNKS))
    for (let c = 0; c < CHUNKS; c++) {
      const value = chunkOf(qh, ql, c)
      const starts = this.starts[c]
      const ends = this.ends[c]
      const ids = this.ids[c]
      for (let m = 0; m < masks.length; m++) {
        const v = value ^ masks[m]
        const first = starts[v]
        // Downwards, as above: `remove` swaps the hash taken with the bucket's last one not taken.
        for (let j = ends[v] - 1; j >= first; j--) {
          const i = ids[j]
          this.comparisons++
          if (popcount32((qh ^ his[i]) >>> 0) + popcount32((ql ^ los[i]) >>> 0) > radius) continue
          this.remove(i)
          found.push(i)
        }
      }
    }
    return found
  }

  /**
   * The indices of every hash within `radius` bits of `query`, each once, with its distance (in no set order).
   * @param radius 0–64; above 23 the chunk neighbourhoods outgrow a scan, so every hash is compared
   * @param after only indices above this one are reported; default: all
   */
  within(query: Hash64, radius: number, after = -1): {index: number; distance: number}[] {
    const found: {index: number; distance: number}[] = []
    const n = this.his.length
    const qh = query.hi
    const ql = query.lo
    if (radius > 23) {
      for (let i = after + 1; i < n; i++) {
        this.comparisons++
        const d = popcount32((qh ^ this.his[i]) >>> 0) + popcount32((ql ^ this.los[i]) >>> 0)
        if (d <= radius) found.push({index: i, distance: d})
      }
      return found
    }
    const sub = Math.floor(radius / CHUNKS)
    const masks = masks16(sub)
    const his = this.his
    const los = this.los
    for (let c = 0; c < CHUNKS; c++) {
      const value = chunkOf(qh, ql, c)
      const starts = this.starts[c]
      const ids = this.ids[c]
      for (let m = 0; m < masks.length; m++) {
        const v = value ^ masks[m]
        const first = starts[v]
        // A bucket lists its indices in ascending order (until `remove` swaps them): walk it down to `after`.
        for (let j = starts[v + 1] - 1; j >= first; j--) {
          const i = ids[j]
          if (i <= after) {
            if (this.reordered) continue
            break
          }
          this.comparisons++
          const hi = his[i]
          const lo = los[i]
          const d = popcount32((qh ^ hi) >>> 0) + popcount32((ql ^ lo) >>> 0)
          if (d > radius) continue
          // Reported once: by the first chunk within `sub` bits of the query's (an earlier chunk found it already).
          let earlier = false
          for (let e = 0; e < c && !earlier; e++)
            earlier = popcount32((chunkOf(qh, ql, e) ^ chunkOf(hi, lo, e)) >>> 0) <= sub
          if (!earlier) found.push({index: i, distance: d})
        }
      }
    }
    return found
  }
}

/** One image as grouping sees it. */
export interface GroupCandidate {
  id: string
  /** The image's number (orders ties: the lowest wins). */
  n: number
  hash: Hash64
  /** width × height as displayed. */
  pixels: number
  /** Sharpness: the blur measure's score (higher is sharper; core/curation.ts blurScore). */
  sharpness: number
}

/** A group of near-identical images: the keeper first, then the others by distance to it, then by number. */
export interface HashGroup {
  keep: string
  members: {id: string; distance: number}[]
}

/**
 * Groups images whose hashes lie within `maxDistance` of each other, transitively (connected components of the
 * "within distance" graph; a member may be further than `maxDistance` from the keeper through a chain). Each group
 * has at least 2 images. The keeper is the image with the most pixels, then the sharpest, then the lowest number;
 * each member's `distance` is its Hamming distance to the keeper (the keeper's is 0).
 * Groups are ordered by their keeper's number. A breadth-first walk that takes each image out of the index as it
 * is reached (HashIndex `take`), so that many images close together (thousands of frames of one scene, or a
 * dataset made so) cost about what as many scattered ones do, not all pairs.
 * @param index optional: an index over the same hashes, in the same order (to count comparisons); it is used up
 */
export function groupNear(
  images: readonly GroupCandidate[],
  maxDistance: number,
  index: HashIndex = new HashIndex(images.map((i) => i.hash)),
): HashGroup[] {
  const components: number[][] = []
  for (let start = 0; start < images.length; start++) {
    if (index.isTaken(start)) continue
    index.remove(start)
    const members = [start]
    for (let k = 0; k < members.length; k++)
      for (const j of index.take(images[members[k]].hash, maxDistance)) members.push(j)
    components.push(members)
  }
  const groups: {keeper: GroupCandidate; group: HashGroup}[] = []
  for (const members of components) {
    if (members.length < 2) continue
    const sorted = members.map((i) => images[i]).sort(keeperOrder)
    const keeper = sorted[0]
    const rest = sorted
      .slice(1)
      .map((m) => ({id: m.id, n: m.n, distance: hamming(m.hash, keeper.hash)}))
      .sort((a, b) => a.distance - b.distance || a.n - b.n)
    groups.push({
      keeper,
      group: {
        keep: keeper.id,
        members: [{id: keeper.id, distance: 0}, ...rest.map(({id, distance}) => ({id, distance}))],
      },
    })
  }
  return groups.sort((a, b) => a.keeper.n - b.keeper.n).map((g) => g.group)
}

/** Keeper order: most pixels, then sharpest, then lowest number. */
function keeperOrder(a: GroupCandidate, b: GroupCandidate): number {
  return b.pixels - a.pixels || b.sharpness - a.sharpness || a.n - b.n
}
