/**
 * core/export-targets.ts: which flags each target takes, its layout, and its config files read back with the
 * parsers trainers use (smol-toml, yaml, JSON). The in-process command tests (test/commands/export-target.test.ts)
 * check the files on disk; these check the pure writers' edge cases.
 */
import {parse as parseToml} from 'smol-toml'
import {parse as parseYaml, stringify as toYaml} from 'yaml'
import {
  aiToolkitBuckets,
  checkTargetOptions,
  EXPORT_TARGETS,
  sizeCategory,
  targetConfigFiles,
  targetLayout,
  type TargetImage,
} from '../../src/core/export-targets.js'

const IMAGES: TargetImage[] = [
  {
    file: 'img_0001.jpg',
    caption: 'ohwx, "quoted", back\\slash',
    tags: ['ohwx', '"quoted"', 'back\\slash'],
    width: 640,
    height: 480,
  },
  {file: 'img_0002.png', caption: 'ohwx, 猫', tags: ['ohwx', '猫'], width: 512, height: 512},
]

/** The config files of `target` by path; `root: null` = in a zip, `trigger: null` = none. */
function files(
  target: (typeof EXPORT_TARGETS)[number],
  options = {},
  root: string | null = '/abs/dest',
  trigger: string | null = 'ohwx',
): Record<string, string> {
  const t = trigger ?? undefined
  return Object.fromEntries(
    targetConfigFiles(target, IMAGES, {
      root: root ?? undefined,
      name: 'my "set"',
      trigger: t,
      options,
      layout: targetLayout(target, options, t),
      toYaml,
    }).map((f) => [f.path, f.content]),
  )
}

describe('export targets (pure writers)', () => {
  it('kohya TOML survives quotes, backslashes and spaces in paths and class tokens', () => {
    const toml = parseToml(files('kohya', {repeats: 5, classWord: 'a "b"'}, '/abs/my dest')['dataset.toml']) as any
    expect(toml.datasets[0].subsets[0]).toEqual({
      image_dir: '/abs/my dest/img/5_ohwx a "b"',
      num_repeats: 5,
      class_tokens: 'ohwx a "b"',
    })
  })

  it('without a trigger word, no keep_tokens (kohya) and keep_tags_count 0 (OneTrainer), no trigger_word (ai-toolkit)', () => {
    expect((parseToml(files('kohya', {classWord: 'dog'}, '/d', null)['dataset.toml']) as any).general).toEqual({
      caption_extension: '.txt',
      shuffle_caption: true,
    })
    expect(JSON.parse(files('onetrainer', {}, '/d', null)['concepts.json'])[0].text.keep_tags_count).toBe(0)
    expect(
      parseYaml(files('ai-toolkit', {}, '/d', null)['ai-toolkit.yaml']).config.process[0].trigger_word,
    ).toBeUndefined()
  })

  it("kohya-finetune dataset.toml: no caption_extension in [general] (fine_tune.py's ConfigSanitizer refuses it)", () => {
    const toml = parseToml(files('kohya-finetune')['dataset.toml']) as any
    expect(toml.general).toEqual({shuffle_caption: true, keep_tokens: 1})
    expect(Object.keys(toml.datasets[0].subsets[0]).sort()).toEqual(['image_dir', 'metadata_file', 'num_repeats'])
  })

  it('kohya-finetune metadata: the caption only (no tags to be appended twice); quotes and non-ASCII round-trip', () => {
    const metadata = JSON.parse(files('kohya-finetune')['metadata.json'])
    expect(metadata).toEqual({
      img_0001: {caption: IMAGES[0].caption},
      img_0002: {caption: 'ohwx, 猫'},
    })
    expect(Object.keys(JSON.parse(files('kohya-finetune', {fullPath: true})['metadata.json']))).toEqual([
      '/abs/dest/images/img_0001.jpg',
      '/abs/dest/images/img_0002.png',
    ])
  })

  it('in a zip (no root), config paths are relative', () => {
    expect((parseToml(files('diffusion-pipe', {}, null)['dataset.toml']) as any).directory[0].path).toBe('images')
    expect(JSON.parse(files('onetrainer', {}, null)['concepts.json'])[0].path).toBe('images')
  })

  it('hf metadata.jsonl has one line per image; the card front matter parses', () => {
    const f = files('hf')
    expect(
      f['train/metadata.jsonl']
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).file_name),
    ).toEqual(['img_0001.jpg', 'img_0002.png'])
    expect(parseYaml(f['README.md'].split('---\n')[1]).size_categories).toEqual(['n<1K'])
    expect([sizeCategory(999), sizeCategory(1000), sizeCategory(10_000)]).toEqual(['n<1K', '1K<n<10K', '10K<n<100K'])
  })

  it('hf dataset card: the folder name is literal text (controls escaped, no HTML, no Markdown); the trigger a code span that holds its backticks', () => {
    const card = (name: string, trigger: string) =>
      targetConfigFiles('hf', IMAGES, {
        root: '/abs/dest',
        name,
        trigger,
        options: {},
        layout: targetLayout('hf', {}, trigger),
        toYaml,
      }).find((f) => f.path === 'README.md')!.content
    const hostile = card('x\u001b]0;T\u0007\n# y <svg onload=alert(1)> & *[a](b)* `c` \\ \u202e', 'oh`wx')
    const lines = hostile.split('\n')
    expect(lines.filter((l) => l.startsWith('#'))).toEqual([
      '# x\\\\x1b\\]0;T\\\\x07\\\\n\\# y &lt;svg onload=alert\\(1\\)&gt; &amp; \\*\\[a\\]\\(b\\)\\* \\`c\\` \\\\ &lt;U+202E&gt;',
    ])
    expect(hostile).toContain('; trigger word ``oh`wx``.\n')
    // CommonMark code spans: a fence longer than any run inside; a space on each side when it starts or ends with a backtick.
    expect(card('d', '`ohwx').split('\n')).toContain(
      '2 images with captions (`text`) and tags (`tags`) in `train/metadata.jsonl`, written by `lora export --target hf`; trigger word `` `ohwx ``.',
    )
    expect(card('d', 'a``b`')).toContain('; trigger word ``` a``b` ```.')
    expect(card('my-set.v2', 'ohwx')).toContain('\n# my-set.v2\n')
    expect(card('my-set.v2', 'ohwx')).toContain('; trigger word `ohwx`.')
  })

  it('ai-toolkit buckets go up to --resolution', () => {
    expect(aiToolkitBuckets(1024)).toEqual([512, 768, 1024])
    expect(aiToolkitBuckets(768)).toEqual([512, 768])
    expect(aiToolkitBuckets(1536)).toEqual([512, 768, 1024, 1536])
    expect(aiToolkitBuckets(256)).toEqual([256])
  })

  it('flags a target does not use are usage errors (exit 2)', () => {
    expect(() => checkTargetOptions('civitai', {repeats: 2}, 'ohwx')).toThrow(expect.objectContaining({exitCode: 2}))
    expect(() => checkTargetOptions('kohya', {classWord: 'a/b'}, 'ohwx')).toThrow(/path separator/u)
    expect(() => checkTargetOptions('kohya', {resolution: 10}, 'ohwx')).toThrow(/--resolution must be/u)
    expect(() => checkTargetOptions('kohya', {}, undefined)).toThrow(/--class/u)
    for (const target of EXPORT_TARGETS) expect(() => checkTargetOptions(target, {}, 'ohwx')).not.toThrow()
    // --link: only where images are files of their own (no zip) and unchanged by the options (no --max-side/--convert).
    expect(() => checkTargetOptions('kohya', {link: true, zip: true}, 'ohwx')).toThrow(/--link does not go with --zip/u)
    expect(() => checkTargetOptions('civitai', {link: true}, 'ohwx')).toThrow(/--link does not go with --zip/u)
    expect(() => checkTargetOptions('hf', {link: true, maxSide: 512}, 'ohwx')).toThrow(/with --max-side/u)
    expect(() => checkTargetOptions('hf', {link: true, convert: 'jpg'}, 'ohwx')).toThrow(/with --convert/u)
    for (const target of EXPORT_TARGETS.filter((t) => t !== 'civitai'))
      expect(() => checkTargetOptions(target, {link: true, keepMetadata: true}, 'ohwx')).not.toThrow()
  })
})
