/** The pure part of `lora autotag` (src/core/autotag.ts): the label file, MCut, tag selection, cache, subject. */
import {
  autotagSubject,
  fromCached,
  mcutThreshold,
  offeredTags,
  parseCachedModelInfo,
  parseLabels,
  selectTags,
  type SelectOptions,
  toCached,
  toCachedModelInfo,
} from '../../src/core/autotag.js'
import {UsageError} from '../../src/errors.js'

const CSV = [
  'tag_id,name,category,count',
  '9999999,general,9,1',
  '9999998,sensitive,9,1',
  '9999997,questionable,9,1',
  '9999996,explicit,9,1',
  '1,1girl,0,100',
  '2,long_hair,0,90',
  '3,smile,0,80',
  '4,^_^,0,70',
  '5,hatsune_miku,4,60',
  '6,"tag, with comma",0,1',
].join('\n')

const base: SelectOptions = {threshold: 0.35, characterThreshold: 0.85, mcut: false, rating: false, exclude: []}
const scores = (list: number[]) => new Map(list.map((s, i) => [i, s]))

describe('parseLabels', () => {
  it('reads names and categories in output order, quoted names included', () => {
    const labels = parseLabels(CSV)
    expect(labels).toHaveLength(10)
    expect(labels[0]).toEqual({name: 'general', category: 9})
    expect(labels[8]).toEqual({name: 'hatsune_miku', category: 4})
    expect(labels[9].name).toBe('tag, with comma')
  })
  it('refuses a file without the header', () => {
    expect(() => parseLabels('a,b\n1,2\n')).toThrow(UsageError)
  })
})

describe('mcutThreshold', () => {
  it('is the midpoint of the largest gap between consecutive sorted scores', () => {
    expect(mcutThreshold([0.9, 0.1, 0.85, 0.2])).toBeCloseTo((0.85 + 0.2) / 2)
    expect(mcutThreshold([0.5, 0.4, 0.38, 0.01])).toBeCloseTo((0.38 + 0.01) / 2)
  })
})

describe('selectTags', () => {
  //                  ratings (4)              1girl long  smile ^_^  miku  comma
  const s = scores([0.1, 0.7, 0.15, 0.05, 0.99, 0.5, 0.34, 0.35, 0.9, 0.0])
  it('general at or above the threshold, character at or above its own, best first, character first', () => {
    expect(selectTags(parseLabels(CSV), s, base).map((t) => t.tag)).toEqual([
      'hatsune_miku',
      '1girl',
      'long_hair',
      '^_^',
    ])
    expect(selectTags(parseLabels(CSV), s, {...base, characterThreshold: 0.95}).map((t) => t.tag)).toEqual([
      '1girl',
      'long_hair',
      '^_^',
    ])
  })
  it('--rating adds the best rating tag first (argmax), --max-tags keeps the best, --exclude is folded', () => {
    const chosen = selectTags(parseLabels(CSV), s, {...base, rating: true, maxTags: 2, exclude: ['Long Hair']})
    expect(chosen.map((t) => t.tag)).toEqual(['sensitive', 'hatsune_miku', '1girl'])
  })
  it('--mcut cuts at the largest gap', () => {
    // general scores 0.99, 0.5, 0.35, 0.34, 0: largest gap 0.99→0.5, threshold 0.745
    expect(selectTags(parseLabels(CSV), s, {...base, mcut: true}).map((t) => t.tag)).toEqual(['1girl'])
  })
})

describe('prediction cache records', () => {
  it('keep the scores above the floor and are read back only for the same model and image', () => {
    const record = toCached('m', 'i', new Float32Array([0.5, 0.001, 0.123456]))
    expect(record.scores).toEqual([
      [0, 0.5],
      [2, 0.1235],
    ])
    const text = JSON.stringify(record)
    expect([...fromCached(text, 'm', 'i')!]).toEqual([
      [0, 0.5],
      [2, 0.1235],
    ])
    expect(fromCached(text, 'other', 'i')).toBeUndefined()
    expect(fromCached('{', 'm', 'i')).toBeUndefined()
  })
})

describe('autotagSubject', () => {
  it('counts the tags added, most frequent first', () => {
    expect(autotagSubject('wd-vit-tagger-v3', [['1girl', 'solo'], ['1girl'], ['1girl', 'hat']])).toBe(
      'autotag 3 images (wd-vit-tagger-v3): +1girl ×3 +hat +solo',
    )
  })
})

describe('offeredTags (the tag prompt offers cached predictions)', () => {
  const info = toCachedModelInfo(
    'm',
    [
      {name: 'general', category: 9},
      {name: 'blue_eyes', category: 0},
      {name: 'long_hair', category: 0},
      {name: 'hat', category: 0},
      {name: 'noise', category: 0},
      {name: 'someone_(series)', category: 4},
      {name: 'Long hair', category: 0},
    ],
    {threshold: 0.35, characterThreshold: 0.85, mcut: false},
    new Date(0),
  )
  const scores = new Map([
    [0, 0.99],
    [1, 0.92],
    [2, 0.8],
    [3, 0.25],
    [4, 0.1],
    [5, 0.7],
    [6, 0.5],
  ])
  const style = (t: string) => t.replace(/_/gu, ' ')

  it('offers general and character tags above the floor, styled, best first, marking those above the threshold', () => {
    expect(offeredTags(info, scores, ['ohwx'], style)).toEqual([
      {tag: 'blue eyes', score: 0.92, category: 'general', accepted: true},
      {tag: 'long hair', score: 0.8, category: 'general', accepted: true},
      {tag: 'someone (series)', score: 0.7, category: 'character', accepted: false},
      {tag: 'hat', score: 0.25, category: 'general', accepted: false},
    ])
  })

  it('leaves out tags the caption has (case ignored), refused ones, and stops at the limit', () => {
    const offered = offeredTags(info, scores, ['BLUE EYES'], style, (t) => t === 'hat', 2)
    expect(offered.map((o) => o.tag)).toEqual(['long hair', 'someone (series)'])
  })

  it('never offers a label holding a comma (a cached model.json is a dataset file): saved, it would be two tags', () => {
    const planted = {
      ...info,
      labels: info.labels.map((l, i) => (i === 3 ? (['one,_two', l[1]] as [string, number]) : l)),
    }
    const offered = offeredTags(planted, scores, [], style).map((o) => o.tag)
    expect(offered).not.toContain('one, two')
    expect(offered).toEqual(
      offeredTags(info, scores, [], style)
        .map((o) => o.tag)
        .filter((t) => t !== style(info.labels[3][0])),
    )
  })

  it('round-trips the model info, and refuses a damaged one', () => {
    expect(parseCachedModelInfo(JSON.stringify(info))).toEqual(info)
    expect(parseCachedModelInfo('{"version":1}')).toBeUndefined()
    expect(parseCachedModelInfo('not json')).toBeUndefined()
    const mcut = toCachedModelInfo('m', [], {threshold: 0.9, characterThreshold: 0.9, mcut: true}, new Date(0))
    expect([mcut.threshold, mcut.characterThreshold]).toEqual([0.35, 0.85])
  })
})
