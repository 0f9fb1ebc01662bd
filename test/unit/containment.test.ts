/** The pure containment checks (src/core/containment.ts; README "Safety model", rules 1 and 3). */
import {
  checkJournalPaths,
  checkStatePaths,
  exportDestinationProblem,
  isInside,
  plainNameProblem,
  relativePathProblem,
} from '../../src/core/containment.js'
import {DatasetError, UsageError} from '../../src/errors.js'

describe('plainNameProblem', () => {
  it('accepts plain file names, refuses anything that names another folder', () => {
    for (const ok of ['img_0001.jpg', 'a b.png', '..hidden.jpg', 'café.png', '-x.jpg'])
      expect(plainNameProblem(ok)).toBeUndefined()
    for (const bad of [
      '',
      '.',
      '..',
      '../x.png',
      'a/b.jpg',
      'a\\b.jpg',
      '/etc/passwd',
      'x\0.jpg',
      5,
      null,
      undefined,
      ['a'],
    ])
      expect(plainNameProblem(bad)).toBeDefined()
  })
})

describe('relativePathProblem', () => {
  it('accepts paths inside, refuses absolute paths, drive letters and any ".." component', () => {
    for (const ok of ['a.jpg', 'sub/a.jpg', './a.jpg', 'output/img_0001.txt', '.lora-tagger/state.json', 'a..b/c.jpg'])
      expect(relativePathProblem(ok)).toBeUndefined()
    for (const bad of [
      '',
      '.',
      './',
      '..',
      '../a',
      'a/../../b',
      'a\\..\\b',
      '/abs',
      '\\\\server\\share',
      'C:\\x',
      'c:x',
      'x\0',
      7,
      null,
    ])
      expect(relativePathProblem(bad)).toBeDefined()
  })
})

describe('isInside', () => {
  it('compares by path components', () => {
    expect(isInside('/data/set', '/data/set')).toBe(true)
    expect(isInside('/data/set/output/x', '/data/set')).toBe(true)
    expect(isInside('/data/set-2', '/data/set')).toBe(false)
    expect(isInside('/data', '/data/set')).toBe(false)
    expect(isInside('/data/set/..x', '/data/set')).toBe(true)
    expect(isInside('/', '/data')).toBe(false)
  })
})

describe('checkStatePaths', () => {
  const image = (fields: Record<string, unknown>) => ({
    id: 'img_0001',
    file: 'img_0001.jpg',
    source: 'a.jpg',
    ...fields,
  })
  it('passes a state made by lora', () => {
    expect(() =>
      checkStatePaths(
        {
          images: [
            image({}),
            image({id: 'img_0002', file: 'img_0002.png', source: 'sub/b.png'}),
            // lora repair keeps a file's own name: an upper-case extension is an image file like any other.
            image({id: 'img_0003', file: 'img_0003.JPG', source: 'c.JPG'}),
          ],
          duplicates: [{source: 'c.jpg'}],
          problems: [{source: 'd/e.jpg'}],
        },
        's.json',
      ),
    ).not.toThrow()
  })
  it('names the file and the record of the first path that leaves its place', () => {
    expect(() =>
      checkStatePaths(
        {images: [image({file: '../../victim/notes.png'})], duplicates: [], problems: []},
        '.lora-tagger/state.json',
      ),
    ).toThrow(
      new DatasetError(
        '.lora-tagger/state.json: image record img_0001 has file "../../victim/notes.png", which holds a path separator: it must name a file in the output folder; nothing was done.',
      ),
    )
    // The file is always `<id>.<image extension>`: exports and captions derive names from it.
    for (const file of ['img_0001', 'img_0001.txt', 'img_0002.jpg', 'img_0001.x.jpg', 'img_0001jpg'])
      expect(() => checkStatePaths({images: [image({file})], duplicates: [], problems: []}, 's')).toThrow(
        new DatasetError(
          `s: image record img_0001 has file "${file}", which is not the image id followed by an image extension such as .jpg: it must name a file in the output folder; nothing was done.`,
        ),
      )
    expect(() =>
      checkStatePaths({images: [image({id: 7, source: '/etc/passwd'})], duplicates: [], problems: []}, 's'),
    ).toThrow(/image record #1 has source "\/etc\/passwd", which is absolute/u)
    expect(() => checkStatePaths({images: [image({file: undefined})], duplicates: [], problems: []}, 's')).toThrow(
      /has file undefined, which is not a file name/u,
    )
    expect(() => checkStatePaths({images: [], duplicates: [{source: '../x'}], problems: []}, 's')).toThrow(
      /duplicate record #1 has source "..\/x"/u,
    )
    expect(() => checkStatePaths({images: [], duplicates: [], problems: [null]}, 's')).toThrow(
      /problem record #1 has source undefined/u,
    )
  })
})

describe('checkJournalPaths', () => {
  it('accepts the ops lora writes and refuses unknown kinds, paths out, and a journal without ops', () => {
    const ok = {
      ops: [
        {op: 'place-image', source: 'a.jpg', target: 'output/img_0001.jpg'},
        {op: 'create', path: 'output/img_0001.txt'},
        {op: 'write', path: '.lora-tagger/state.json'},
      ],
    }
    expect(() => checkJournalPaths(ok, 'j')).not.toThrow()
    expect(() => checkJournalPaths({ops: [{op: 'write', path: '../x'}]}, 'j')).toThrow(
      /op #1 \(write\) has path "..\/x", which climbs out/u,
    )
    expect(() => checkJournalPaths({ops: [{op: 'place-image', source: 'a.jpg', target: '/tmp/x'}]}, 'j')).toThrow(
      /has target "\/tmp\/x", which is absolute/u,
    )
    expect(() => checkJournalPaths({ops: [{op: 'unlink', path: 'a'}]}, 'j')).toThrow(/unknown kind "unlink"/u)
    expect(() => checkJournalPaths({ops: {}}, 'j')).toThrow(/not a lora journal/u)
    expect(() => checkJournalPaths(null, 'j')).toThrow(DatasetError)
  })
})

describe('exportDestinationProblem', () => {
  const places = [
    {path: '/d/.lora-tagger', name: "the dataset's .lora-tagger/ folder"},
    {path: '/d/output', name: "the dataset's output folder"},
    {path: '/d', name: 'the dataset folder'},
  ]
  it('refuses a destination that is or lies inside a protected place, naming the narrowest', () => {
    expect(exportDestinationProblem('/d', '/d', places)).toEqual(
      new UsageError(
        'The export destination /d is the dataset folder (/d); an export never writes into the dataset, so nothing was written.',
      ),
    )
    expect(exportDestinationProblem('/L', '/d/output', places)?.message).toBe(
      "The export destination /L (it resolves to /d/output) is the dataset's output folder (/d/output); an export never writes into the dataset, so nothing was written.",
    )
    expect(
      exportDestinationProblem('/d/.lora-tagger/state.json', '/d/.lora-tagger/state.json', places)?.message,
    ).toContain("is inside the dataset's .lora-tagger/ folder")
    expect(exportDestinationProblem('/d/x.csv', '/d/x.csv', places)?.exitCode).toBe(2)
  })
  it('lets through a destination outside, including a sibling with a longer name', () => {
    for (const dest of ['/train', '/d-train', '/dd/output', '/'])
      expect(exportDestinationProblem(dest, dest, places)).toBeUndefined()
  })
})

describe('oddFileError: the suggested command quotes the file name', () => {
  it('a name holding a quote, $(…) and a backquote is one shell word in the hint', async () => {
    const {oddFileError} = await import('../../src/core/containment.js')
    const rel = "output/x'$(id)';`id`.txt"
    const hint = oddFileError(rel, 'symlink', 'caption file').hint!
    const quoted = `'output/x'\\''$(id)'\\'';\`id\`.txt'`
    expect(hint).toContain(`cp --remove-destination "$(readlink -f ${quoted})" ${quoted}`)
  })
})
