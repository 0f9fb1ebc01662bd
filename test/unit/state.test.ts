import {
  emptyState,
  type DatasetState,
  type ImageRecord,
  parseSession,
  parseState,
  serializeState,
} from '../../src/core/state.js'
import {DatasetError} from '../../src/errors.js'

function image(n: number, overrides: Partial<ImageRecord> = {}): ImageRecord {
  const id = `img_${String(n).padStart(4, '0')}`
  return {
    id,
    n,
    file: `${id}.jpg`,
    source: `photos/pic${n}.jpg`,
    sha256: String(n).repeat(64).slice(0, 64),
    bytes: 1000 * n,
    width: 640,
    height: 480,
    format: 'jpeg',
    status: 'pending',
    tags: [],
    updatedAt: null,
    ...overrides,
  }
}

function sampleState(): DatasetState {
  return {
    version: 1,
    nextNumber: 5,
    padWidth: 4,
    images: [
      image(1),
      image(2, {status: 'tagged', tags: ['1girl', 'smile'], updatedAt: '2024-01-02T03:04:05.000Z'}),
      image(3),
      image(4, {status: 'skipped'}),
    ],
    duplicates: [{source: 'photos/copy.jpg', sha256: 'a'.repeat(64), of: 'img_0001'}],
    problems: [{source: 'photos/broken.jpg', reason: 'not an image'}],
  }
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw, but nothing was thrown')
}

describe('serializeState', () => {
  it('is valid JSON ending in a newline', () => {
    const text = serializeState(sampleState())
    expect(text.endsWith('}\n')).toBe(true)
    expect(JSON.parse(text)).toEqual(sampleState())
  })

  it('puts each image on its own line', () => {
    const state = sampleState()
    const lines = serializeState(state).split('\n')
    for (const i of state.images) {
      const holding = lines.filter((l) => l.includes(`"id":"${i.id}"`))
      expect(holding).toHaveLength(1)
      // The whole record is on that line.
      expect(JSON.parse(holding[0].trim().replace(/,$/u, ''))).toEqual(i)
    }
  })

  it('changes exactly one line when one image changes', () => {
    const before = sampleState()
    const after = sampleState()
    after.images[2] = {
      ...after.images[2],
      status: 'tagged',
      tags: ['cat', 'sitting'],
      updatedAt: '2024-05-06T07:08:09.000Z',
    }
    const a = serializeState(before).split('\n')
    const b = serializeState(after).split('\n')
    expect(b).toHaveLength(a.length)
    const changed = a.map((line, i) => i).filter((i) => a[i] !== b[i])
    expect(changed).toHaveLength(1)
    expect(b[changed[0]]).toContain('"id":"img_0003"')
    expect(b[changed[0]]).toContain('"tags":["cat","sitting"]')
  })

  it('changes exactly one line when an image is tagged with tags containing newlines or quotes', () => {
    const before = sampleState()
    const after = sampleState()
    after.images[0] = {...after.images[0], tags: ['line\nbreak', 'say "hi"', 'back\\slash']}
    const a = serializeState(before).split('\n')
    const b = serializeState(after).split('\n')
    expect(b).toHaveLength(a.length)
    expect(a.filter((line, i) => line !== b[i])).toHaveLength(1)
    expect(parseState(serializeState(after)).images[0].tags).toEqual(['line\nbreak', 'say "hi"', 'back\\slash'])
  })

  it('adds one line per added image (plus the comma on the line before)', () => {
    const before = sampleState()
    const after = sampleState()
    after.images.push(image(5))
    after.nextNumber = 6
    const a = serializeState(before).split('\n')
    const b = serializeState(after).split('\n')
    expect(b.length).toBe(a.length + 1)
  })

  it('writes image keys in a stable order whatever order the record has', () => {
    const state = sampleState()
    const shuffled = sampleState()
    const i = shuffled.images[1]
    shuffled.images[1] = {
      updatedAt: i.updatedAt,
      tags: i.tags,
      status: i.status,
      format: i.format,
      height: i.height,
      width: i.width,
      bytes: i.bytes,
      sha256: i.sha256,
      source: i.source,
      file: i.file,
      n: i.n,
      id: i.id,
    }
    expect(serializeState(shuffled)).toBe(serializeState(state))
  })

  it('writes empty lists compactly', () => {
    const text = serializeState(emptyState())
    expect(text).toContain('"images": []')
    expect(text).toContain('"duplicates": []')
    expect(text).toContain('"problems": []')
    expect(JSON.parse(text)).toEqual(emptyState())
  })
})

describe('parseState', () => {
  it('round-trips', () => {
    const state = sampleState()
    expect(parseState(serializeState(state))).toEqual(state)
    expect(parseState(serializeState(emptyState()))).toEqual(emptyState())
    expect(serializeState(parseState(serializeState(state)))).toBe(serializeState(state))
  })

  it('fills in padWidth, duplicates and problems when missing', () => {
    expect(parseState('{"version":1,"nextNumber":3,"images":[]}')).toEqual({
      version: 1,
      nextNumber: 3,
      padWidth: 4,
      images: [],
      duplicates: [],
      problems: [],
    })
  })

  it('reads compact JSON as well as its own format', () => {
    const state = sampleState()
    expect(parseState(JSON.stringify(state))).toEqual(state)
  })

  it('rejects text that is not JSON with a DatasetError naming the file', () => {
    for (const text of ['', '{', '{"version":1,', 'not json', '{"version":1,"nextNumber":1,"images":[]}}']) {
      const e = thrownBy(() => parseState(text, '.lora-tagger/state.json'))
      expect(e).toBeInstanceOf(DatasetError)
      expect((e as DatasetError).message).toContain('.lora-tagger/state.json')
      expect((e as DatasetError).message).toMatch(/not valid JSON/u)
      expect((e as DatasetError).exitCode).toBe(1)
      expect((e as DatasetError).hint).toBeTruthy()
    }
  })

  it('rejects JSON that is not a version-1 state', () => {
    const bad = [
      '{"version":2,"nextNumber":1,"images":[]}',
      '{"version":"1","nextNumber":1,"images":[]}',
      '{"nextNumber":1,"images":[]}',
      '{"version":1,"nextNumber":1}',
      '{"version":1,"nextNumber":1,"images":{}}',
      '{"version":1,"nextNumber":"1","images":[]}',
      '{"version":1,"images":[]}',
      'null',
      '42',
      '"state"',
      '[]',
    ]
    for (const text of bad) {
      const e = thrownBy(() => parseState(text))
      expect(e).toBeInstanceOf(DatasetError)
      expect((e as DatasetError).message).toContain('state.json')
      expect((e as DatasetError).message).toMatch(/version 1/u)
    }
  })
})

describe('parseSession', () => {
  it('reads a session', () => {
    expect(parseSession('{"cursor":"img_0003","updatedAt":"2024-01-01T00:00:00.000Z"}')).toEqual({
      cursor: 'img_0003',
      updatedAt: '2024-01-01T00:00:00.000Z',
    })
  })

  it('gives a fresh session when the file is missing', () => {
    expect(parseSession(undefined)).toEqual({cursor: null, updatedAt: null})
  })

  it('tolerates garbage', () => {
    for (const text of [
      '',
      '{',
      'garbage \u0000 bytes',
      'null',
      '42',
      '"text"',
      '[]',
      '[1,2]',
      'true',
      '{"cursor":5,"updatedAt":{}}',
      '{"cursor":null}',
    ]) {
      expect(parseSession(text)).toEqual({cursor: null, updatedAt: null})
    }
  })

  it('keeps the valid field of a half-valid session', () => {
    expect(parseSession('{"cursor":"img_0001","updatedAt":17}')).toEqual({cursor: 'img_0001', updatedAt: null})
    expect(parseSession('{"cursor":["x"],"updatedAt":"2024-01-01T00:00:00.000Z","extra":1}')).toEqual({
      cursor: null,
      updatedAt: '2024-01-01T00:00:00.000Z',
    })
  })
})

describe('the optional prompt record (issue 14)', () => {
  it('round-trips on its image line, after updatedAt; records without it load as before', () => {
    const state = sampleState()
    state.images[0] = image(1, {prompt: {positive: 'a cat', negative: 'blurry', generator: 'comfyui'}})
    const text = serializeState(state)
    expect(text).toContain('"updatedAt":null,"prompt":{"positive":"a cat","negative":"blurry","generator":"comfyui"}}')
    expect(parseState(text)).toEqual(state)
    expect('prompt' in parseState(text).images[1]).toBe(false)
  })

  it('a prompt of the wrong shape is named', () => {
    const state = sampleState()
    const doc = JSON.parse(serializeState(state))
    doc.images[2].prompt = {positive: 'a', negative: 3, generator: 'x'}
    expect(() => parseState(JSON.stringify(doc))).toThrow('state.json: images[2].prompt.negative is not a string.')
    doc.images[2].prompt = 'a cat'
    expect(() => parseState(JSON.stringify(doc))).toThrow('images[2].prompt is not an object')
  })
})

describe('a record of the wrong shape', () => {
  it('is named by its first problem, field by field, in the order the fields are checked', () => {
    const cases: [(r: Record<string, unknown>) => void, string][] = [
      [(r) => (r.id = ''), '.id is not a non-empty string'],
      [(r) => delete r.sha256, '.sha256 is not a non-empty string'],
      [(r) => (r.n = '1'), '.n is not a number'],
      [(r) => (r.height = null), '.height is not a number'],
      [(r) => (r.status = 'done'), '.status is not pending, tagged, skipped or auto'],
      [(r) => (r.tags = 'a, b'), '.tags is not a list of strings'],
      [(r) => (r.tags = ['a', 3]), '.tags is not a list of strings'],
      [(r) => (r.skipReason = 3), '.skipReason is not a string'],
      [(r) => delete r.format, '.format is not a string'],
      [(r) => (r.updatedAt = {a: 1}), '.updatedAt is not a string or null'],
      // The id reaches commit trailers: no line break, control or bidi character.
      [(r) => (r.id = 'img_0002\n\nLora-Change: undo'), '.id holds a control, bidi or line-break character'],
      [(r) => (r.id = 'img_0002\u2028x'), '.id holds a control, bidi or line-break character'],
      [(r) => (r.id = 'img\u202e0002'), '.id holds a control, bidi or line-break character'],
      [
        (r) => {
          r.file = 7
          r.tags = 'x'
        },
        '.file is not a non-empty string',
      ],
    ]
    for (const [spoil, problem] of cases) {
      const doc = JSON.parse(serializeState(sampleState()))
      spoil(doc.images[1])
      let thrown: unknown
      try {
        parseState(JSON.stringify(doc))
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(DatasetError)
      expect((thrown as DatasetError).message).toBe(`state.json: images[1]${problem}.`)
    }
    // The lists of files not imported are printed as text: each field a string.
    const lists = JSON.parse(serializeState(sampleState()))
    lists.duplicates = [{source: 'x.jpg', sha256: 'a'.repeat(64), of: 5}]
    expect(() => parseState(JSON.stringify(lists))).toThrow('state.json: duplicates[0].of is not a string.')
    lists.duplicates = []
    lists.problems = [{source: 'y.jpg', reason: null}]
    expect(() => parseState(JSON.stringify(lists))).toThrow('state.json: problems[0].reason is not a string.')
    const doc = JSON.parse(serializeState(sampleState()))
    doc.images[0] = 'img_0001'
    expect(() => parseState(JSON.stringify(doc))).toThrow('state.json: images[0] is not an object.')
  })
})
