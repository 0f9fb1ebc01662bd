/** The pure part of `lora curate` (src/core/curation-hash.ts, src/core/curation.ts): pHash, the index, groups, rules. */
import {
  groupNear,
  hamming,
  HashIndex,
  type Hash64,
  hashToHex,
  hexToHash,
  luma601,
  phash,
  popcount32,
} from '../../src/core/curation-hash.js'
import {
  blurScore,
  brightness,
  brightnessPercentiles,
  checkCurateSection,
  colourShare,
  CURATION_VERSION,
  DEFAULT_CURATION,
  findings,
  greyEntropy,
  type ImageMeasures,
  parseMeasures,
  pixelStats,
  sizeBounds,
} from '../../src/core/curation.js'
import {aestheticInput, parsePreprocess} from '../../src/core/curation-aesthetic.js'

const pattern = (f: (x: number, y: number) => number) => {
  const grey = new Uint8Array(32 * 32)
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) grey[y * 32 + x] = f(x, y)
  return grey
}

/** A deterministic pseudo-random generator (mulberry32), so the 100,000-hash test is the same every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const flipBits = (h: Hash64, bits: number[]): Hash64 => {
  let {hi, lo} = h
  for (const b of bits) {
    if (b < 32) hi ^= 1 << (31 - b)
    else lo ^= 1 << (63 - b)
  }
  return {hi: hi >>> 0, lo: lo >>> 0}
}

describe('pHash as imagededup computes it', () => {
  // Expected values from scipy: dct(dct(a, axis=0), axis=1)[:8, :8] >= median(flatten[1:]), packbits → hex.
  it('matches scipy on two patterns', () => {
    expect(hashToHex(phash(pattern((x, y) => (x * 7 + y * 13 + ((x * y) % 17) * 5) % 256)))).toBe('c194c1953f68b6ed')
    expect(
      hashToHex(
        phash(pattern((x, y) => (x < 20 ? ((Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? 255 : 0) : (x * y) % 256))),
      ),
    ).toBe('ff6c7d4c6d485604')
  })
  it('refuses a buffer that is not 32×32', () => {
    expect(() => phash(new Uint8Array(10))).toThrow(RangeError)
  })
  it('round-trips the hexadecimal form and counts distances', () => {
    const h = hexToHash('c194c1953f68b6ed')
    expect(hashToHex(h)).toBe('c194c1953f68b6ed')
    expect(hamming(h, h)).toBe(0)
    expect(hamming(h, flipBits(h, [0, 31, 32, 63]))).toBe(4)
    expect(hamming({hi: 0, lo: 0}, {hi: 0xffffffff, lo: 0xffffffff})).toBe(64)
    expect(popcount32(0x80000001)).toBe(2)
    expect(() => hexToHash('xyz')).toThrow(RangeError)
  })
})

describe('HashIndex radius queries', () => {
  it('finds exactly what a scan finds, for several radii', () => {
    const next = random(7)
    const base: Hash64 = {hi: 0x12345678, lo: 0x9abcdef0}
    const hashes: Hash64[] = []
    for (let i = 0; i < 2000; i++) {
      const near = i % 3 === 0
      const bits = near ? Array.from({length: Math.floor(next() * 14)}, () => Math.floor(next() * 64)) : []
      hashes.push(near ? flipBits(base, bits) : {hi: (next() * 2 ** 32) >>> 0, lo: (next() * 2 ** 32) >>> 0})
    }
    const index = new HashIndex(hashes)
    for (const radius of [0, 3, 10, 15, 30]) {
      const got = index
        .within(base, radius)
        .map((r) => r.index)
        .sort((a, b) => a - b)
      const want = hashes.flatMap((h, i) => (hamming(h, base) <= radius ? [i] : []))
      expect(got).toEqual(want)
    }
  })

  it('take finds what within finds among the hashes not taken, once; within still sees every hash after it', () => {
    const next = random(9)
    const base: Hash64 = {hi: 0x12345678, lo: 0x9abcdef0}
    const hashes = Array.from({length: 3000}, (_, i) =>
      i % 2 === 0
        ? flipBits(
            base,
            Array.from({length: Math.floor(next() * 14)}, () => Math.floor(next() * 64)),
          )
        : {hi: (next() * 2 ** 32) >>> 0, lo: (next() * 2 ** 32) >>> 0},
    )
    for (const radius of [3, 10, 30]) {
      const index = new HashIndex(hashes)
      for (let i = 0; i < hashes.length; i += 7) index.remove(i)
      const scan = (after: number) => hashes.flatMap((h, i) => (i > after && hamming(h, base) <= radius ? [i] : []))
      const within = (after: number) =>
        index
          .within(base, radius, after)
          .map((r) => r.index)
          .sort((a, b) => a - b)
      expect(within(-1)).toEqual(scan(-1))
      expect(within(1500)).toEqual(scan(1500))
      const taken = index.take(base, radius).sort((a, b) => a - b)
      expect(taken).toEqual(scan(-1).filter((i) => i % 7 !== 0))
      expect(taken.every((i) => index.isTaken(i))).toBe(true)
      expect(index.take(base, radius)).toEqual([])
    }
  })
})

describe('groupNear', () => {
  const img = (id: string, n: number, hash: Hash64, pixels: number, sharpness = 0.5) => ({
    id,
    n,
    hash,
    pixels,
    sharpness,
  })
  const a: Hash64 = {hi: 0xf0f0f0f0, lo: 0x0f0f0f0f}
  const b: Hash64 = {hi: 0x0f0f0f0f, lo: 0xf0f0f0f0}

  it('groups within the distance, keeps the most pixels, then the sharpest, then the lowest number', () => {
    const groups = groupNear(
      [
        img('img_0001', 1, a, 100),
        img('img_0002', 2, flipBits(a, [1, 2, 3]), 400),
        img('img_0003', 3, b, 100),
        img('img_0004', 4, flipBits(b, [5]), 100, 0.9),
        img('img_0005', 5, flipBits(b, [6, 7]), 100, 0.9),
        img('img_0006', 6, flipBits(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), 100),
      ],
      10,
    )
    expect(groups).toEqual([
      {
        keep: 'img_0002',
        members: [
          {id: 'img_0002', distance: 0},
          {id: 'img_0001', distance: 3},
        ],
      },
      {
        keep: 'img_0004',
        members: [
          {id: 'img_0004', distance: 0},
          {id: 'img_0003', distance: 1},
          {id: 'img_0005', distance: 3},
        ],
      },
    ])
  })

  it('groups transitively: a chain of small steps is one group', () => {
    const groups = groupNear(
      [
        img('img_0001', 1, a, 1),
        img('img_0002', 2, flipBits(a, [0, 1, 2, 3, 4, 5]), 1),
        img('img_0003', 3, flipBits(a, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 1),
      ],
      6,
    )
    expect(groups).toHaveLength(1)
    expect(groups[0].members.map((m) => m.distance)).toEqual([0, 6, 12])
  })

  it('groups 100,000 random hashes without comparing all pairs', () => {
    const next = random(42)
    const hashes: Hash64[] = []
    for (let i = 0; i < 100_000; i++) {
      if (i % 100 === 1) hashes.push(flipBits(hashes[i - 1], [Math.floor(next() * 64), Math.floor(next() * 64)]))
      else hashes.push({hi: (next() * 2 ** 32) >>> 0, lo: (next() * 2 ** 32) >>> 0})
    }
    const index = new HashIndex(hashes)
    const groups = groupNear(
      hashes.map((hash, i) => img(`i${i}`, i, hash, 1)),
      10,
      index,
    )
    // Every planted pair is found (random 64-bit hashes lie within 10 bits of each other with p ≈ 1e-8).
    expect(groups.length).toBeGreaterThanOrEqual(1000)
    // All pairs would be 5·10⁹ comparisons; the index makes under 2 % of them (about 850 per image: the
    // candidates sharing a 16-bit chunk within 2 bits).
    expect(index.comparisons).toBeLessThan(100_000_000)
  })

  it('groups 20,000 hashes lying close together without comparing all pairs (one group, in linear work)', () => {
    // Thousands of frames of one scene, or a dataset from a stranger made so: every hash within 10 bits of every
    // other (half identical, half within 5 bits of them). Asking the index about each image compared all pairs:
    // 2·10⁸ comparisons, minutes for 40,000 images in `lora curate`, `lora ls` and `lora gallery`.
    const next = random(5)
    const base: Hash64 = {hi: 0x12345678, lo: 0x9abcdef0}
    const hashes = Array.from({length: 20_000}, (_, i) =>
      i % 2 === 0
        ? base
        : flipBits(
            base,
            Array.from({length: 5}, () => Math.floor(next() * 64)),
          ),
    )
    const index = new HashIndex(hashes)
    const groups = groupNear(
      hashes.map((hash, i) => img(`i${i}`, i, hash, 1)),
      10,
      index,
    )
    expect(groups).toHaveLength(1)
    expect(groups[0].members).toHaveLength(20_000)
    expect(groups[0].keep).toBe('i0')
    expect(index.comparisons).toBeLessThan(200_000)
  })

  it('groups as comparing every pair does, for several distances', () => {
    const next = random(11)
    const base: Hash64 = {hi: 0xf00dcafe, lo: 0x0badf00d}
    const hashes: Hash64[] = []
    for (let i = 0; i < 600; i++) {
      if (i % 3 === 1) hashes.push(flipBits(hashes[i - 1], [Math.floor(next() * 64), Math.floor(next() * 64)]))
      else if (i % 5 === 0)
        hashes.push(
          flipBits(
            base,
            Array.from({length: 6}, () => Math.floor(next() * 64)),
          ),
        )
      else hashes.push({hi: (next() * 2 ** 32) >>> 0, lo: (next() * 2 ** 32) >>> 0})
    }
    for (const distance of [0, 2, 6, 10, 30]) {
      // Connected components by union-find over every pair.
      const parent = hashes.map((_, i) => i)
      const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])))
      for (let i = 0; i < hashes.length; i++)
        for (let j = i + 1; j < hashes.length; j++)
          if (hamming(hashes[i], hashes[j]) <= distance) parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j))
      const want = new Map<number, string[]>()
      hashes.forEach((_, i) => want.set(find(i), [...(want.get(find(i)) ?? []), `i${i}`]))
      const got = groupNear(
        hashes.map((hash, i) => img(`i${i}`, i, hash, 1)),
        distance,
      ).map((g) => g.members.map((m) => m.id).sort())
      const expected = [...want.values()].filter((ids) => ids.length > 1).map((ids) => ids.sort())
      expect(got.sort()).toEqual(expected.sort())
    }
  })
})

const measures = (over: Partial<ImageMeasures> = {}): ImageMeasures => ({
  version: CURATION_VERSION,
  sha256: 'a'.repeat(64),
  width: 1024,
  height: 768,
  phash: '0123456789abcdef',
  pixels: 'b'.repeat(64),
  brightP99: 0.9,
  brightP5: 0.1,
  entropy: 7,
  blur: 0.6,
  colour: 0.5,
  exif: {gps: false, camera: null, captureDate: null, orientation: null},
  ...over,
})

describe('measures', () => {
  it('brightness as cleanvision defines it', () => {
    expect(brightness(255, 255, 255)).toBeCloseTo(1, 3)
    expect(brightness(0, 0, 0)).toBe(0)
    expect(brightness(255, 0, 0)).toBeCloseTo(Math.sqrt(0.241), 6)
  })
  it('percentiles interpolate linearly, as numpy', () => {
    const rgb = new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255])
    const [p0, p50, p100] = brightnessPercentiles(rgb, 3, [0, 50, 100])
    expect(p0).toBe(0)
    expect(p50).toBeCloseTo(1, 3)
    expect(p100).toBeCloseTo(1, 3)
  })
  it('entropy: 0 bits flat, 1 bit for two equal halves, 8 bits for every level once', () => {
    expect(greyEntropy(new Uint8Array(100).fill(7))).toBe(0)
    expect(greyEntropy(new Uint8Array([0, 0, 255, 255]))).toBe(1)
    expect(greyEntropy(Uint8Array.from({length: 256}, (_, i) => i))).toBe(8)
  })
  it("blur: a flat image scores only its border against a zero interior (PIL's FIND_EDGES keeps the border), a checkerboard high", () => {
    // 252 border pixels of 100 among 4,096, the rest 0 (cleanvision: sqrt of ImageStat's variance of the edge image).
    const mean = (252 * 100) / 4096
    const sigma = Math.sqrt((252 * 100 * 100) / 4096 - mean * mean)
    expect(blurScore(new Uint8Array(64 * 64).fill(100), 64, 64)).toBeCloseTo(1 - Math.exp(-sigma / 100), 12)
    const board = Uint8Array.from({length: 64 * 64}, (_, i) => (((i % 64) + Math.floor(i / 64)) % 2 ? 255 : 0))
    expect(blurScore(board, 64, 64)).toBeGreaterThan(0.5)
  })
  it('pixelStats agrees with the separate measures in one pass', () => {
    const rgba = Uint8Array.from({length: 40 * 4}, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256))
    const stats = pixelStats(rgba, 4)
    const [p99, p5] = brightnessPercentiles(rgba, 4, [99, 5])
    expect(stats.brightP99).toBe(p99)
    expect(stats.brightP5).toBe(p5)
    expect(stats.colour).toBe(colourShare(rgba, 4))
    const grey = Uint8Array.from({length: 40}, (_, i) => luma601(rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]))
    expect(stats.entropy).toBeCloseTo(greyEntropy(grey), 10)
  })
  it('colour share: 0 for grey pixels (within 2 levels), 1 for red ones', () => {
    expect(colourShare(new Uint8Array([10, 11, 12, 200, 200, 200]), 3)).toBe(0)
    expect(colourShare(new Uint8Array([255, 0, 0, 255]), 4)).toBe(1)
  })
})

describe('finding rules', () => {
  it('each rule fires below (or beyond) its threshold with score and threshold, and not otherwise', () => {
    const images = [
      {id: 'ok', measures: measures()},
      {id: 'dark', measures: measures({brightP99: 0.2})},
      {id: 'light', measures: measures({brightP5: 0.99})},
      {id: 'blurry', measures: measures({blur: 0.21})},
      {id: 'flat', measures: measures({entropy: 2.5})},
      {id: 'wide', measures: measures({width: 3000, height: 900})},
      {id: 'grey', measures: measures({colour: 0})},
      {id: 'small', measures: measures({width: 400, height: 300})},
      {id: 'gps', measures: measures({exif: {gps: true, camera: null, captureDate: null, orientation: null}})},
    ]
    const found = findings(images, DEFAULT_CURATION, 512)
    // odd-size is tested below: these sizes are nearly all equal (IQR 0), so every other size is odd.
    const by = (id: string) => found.filter((f) => f.id === id && f.rule !== 'odd-size').map((f) => f.rule)
    expect(by('ok')).toEqual([])
    expect(by('dark')).toEqual(['dark'])
    expect(by('light')).toEqual(['light'])
    expect(by('blurry')).toEqual(['blurry'])
    expect(by('flat')).toEqual(['low-information'])
    expect(by('wide')).toEqual(['odd-aspect-ratio'])
    expect(by('grey')).toEqual(['grayscale'])
    expect(by('small')).toEqual(['low-resolution'])
    expect(by('gps')).toEqual(['gps'])
    expect(found.find((f) => f.id === 'blurry')).toEqual({
      rule: 'blurry',
      id: 'blurry',
      score: 0.21,
      threshold: 0.29,
      message: 'blurry 0.21 < 0.29',
    })
  })
  it('odd-size: outside 3 IQR of this dataset', () => {
    const sizes = [100, 110, 120, 130, 140, 150, 2000]
    const images = sizes.map((s, i) => ({id: `i${i}`, measures: measures({width: s, height: s})}))
    const found = findings(images, DEFAULT_CURATION, 1).filter((f) => f.rule === 'odd-size')
    expect(found.map((f) => f.id)).toEqual(['i6'])
    expect(sizeBounds([1, 2, 3], 3)).toBeUndefined()
  })
})

describe('config and cache records', () => {
  it('checks the curate: section', () => {
    expect(checkCurateSection({distance: 8, blurry: 0.2})).toBeUndefined()
    expect(checkCurateSection({distance: 65})).toMatch(/0–64/u)
    expect(checkCurateSection({nope: 1})).toMatch(/not "nope"/u)
    expect(checkCurateSection([])).toMatch(/mapping/u)
  })
  it('takes a cached record of this version and image only', () => {
    const m = measures()
    expect(parseMeasures(JSON.stringify(m), m.sha256)).toEqual(m)
    expect(parseMeasures(JSON.stringify(m), 'c'.repeat(64))).toBeUndefined()
    expect(parseMeasures(JSON.stringify({...m, version: 0}), m.sha256)).toBeUndefined()
    expect(parseMeasures('{', m.sha256)).toBeUndefined()
  })
})

describe('aesthetic preprocess.json and input', () => {
  const good = {
    size: [2, 1],
    resize: 'crop',
    channels: 'BGR',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.25, 1],
    layout: 'NCHW',
  }
  it('parses preprocess.json and names a bad field', () => {
    expect(parsePreprocess(JSON.stringify(good), 'p.json')).toMatchObject({
      height: 2,
      width: 1,
      range: 1,
      layout: 'NCHW',
    })
    expect(() => parsePreprocess(JSON.stringify({...good, resize: 'zoom'}), 'p.json')).toThrow(
      /"resize" is not one of/u,
    )
    expect(() => parsePreprocess(JSON.stringify({...good, std: [1, 0, 1]}), 'p.json')).toThrow(/"std"/u)
    expect(() => parsePreprocess('{', 'p.json')).toThrow(/not JSON/u)
  })
  it('normalises per channel in the channel order and layout asked', () => {
    const pre = parsePreprocess(JSON.stringify(good), 'p.json')
    // Two pixels (2×1): red, then white. BGR + NCHW: the blue plane first.
    const input = aestheticInput(new Uint8Array([255, 0, 0, 255, 255, 255]), pre)
    expect(Array.from(input)).toEqual([-0.5, 0.5, -2, 2, 1, 1])
    const nhwc = aestheticInput(new Uint8Array([255, 0, 0, 255, 255, 255]), {...pre, layout: 'NHWC', channels: 'RGB'})
    expect(Array.from(nhwc)).toEqual([1, -2, -0.5, 1, 2, 0.5])
  })
})
