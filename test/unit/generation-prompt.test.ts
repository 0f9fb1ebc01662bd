/**
 * core/generation-prompt.ts (issue 14): each generator's layout (../shared/FORMATS.md "Prompts that image
 * generators embed") parsed from its metadata fields, and prompts split into tags with weights and syntax removed.
 */
import {MAX_PROMPT_CHARS, parseGenerationPrompt, promptTags} from '../../src/core/generation-prompt.js'
import {A1111_TEXT, COMFY_TWO_SAMPLERS} from '../genmeta-helpers.js'

describe('parseGenerationPrompt', () => {
  it('AUTOMATIC1111: prompt lines, the Negative prompt line, the settings line left out', () => {
    expect(parseGenerationPrompt({parameters: A1111_TEXT})).toEqual({
      positive: '1girl, (red hair:1.2), ((smile)), [blurry], <lora:detail:0.8>, pokemon \\(creature\\)\nBREAK outdoors',
      negative: 'lowres, (bad hands:1.3)',
      generator: 'automatic1111',
    })
    // A last line with fewer than 3 `key: value` pairs is prompt, not settings (infotext_utils.py).
    expect(parseGenerationPrompt({parameters: 'a cat\nstyle: oil'})).toEqual({
      positive: 'a cat\nstyle: oil',
      negative: '',
      generator: 'automatic1111',
    })
    // A multi-line negative prompt; the same text in a JPEG's UserComment.
    expect(parseGenerationPrompt({UserComment: 'sky\nNegative prompt: a\nb\nSteps: 1, Seed: 2, Size: 64x64'})).toEqual({
      positive: 'sky',
      negative: 'a\nb',
      generator: 'automatic1111',
    })
  })

  it('ComfyUI: both samplers followed through ConditioningCombine and a text node to their text encoders', () => {
    expect(parseGenerationPrompt({prompt: JSON.stringify(COMFY_TWO_SAMPLERS)})).toEqual({
      positive: 'a cat, (sitting:1.1)\nsunset, orange sky\nhighly detailed fur',
      negative: 'blurry, lowres\njpeg artifacts',
      generator: 'comfyui',
    })
  })

  it('ComfyUI: ControlNetApplyAdvanced passes its positive out of output 0 and its negative out of output 1', () => {
    const graph = {
      '1': {class_type: 'CLIPTextEncode', inputs: {text: 'pos'}},
      '2': {class_type: 'CLIPTextEncode', inputs: {text: 'neg'}},
      '3': {class_type: 'ControlNetApplyAdvanced', inputs: {positive: ['1', 0], negative: ['2', 0], strength: 1}},
      '4': {class_type: 'KSampler', inputs: {positive: ['3', 0], negative: ['3', 1]}},
      // A cycle is not followed forever.
      '5': {class_type: 'ConditioningCombine', inputs: {conditioning_1: ['5', 0]}},
      '6': {class_type: 'KSampler', inputs: {positive: ['5', 0]}},
    }
    expect(parseGenerationPrompt({prompt: JSON.stringify(graph)})).toEqual({
      positive: 'pos',
      negative: 'neg',
      generator: 'comfyui',
    })
  })

  it('ComfyUI: the workflow when the API graph is missing, a muted node left out', () => {
    const workflow = {
      nodes: [
        {id: 1, type: 'CLIPTextEncode', mode: 0, outputs: [{links: [10]}], widgets_values: ['a dog']},
        {id: 2, type: 'CLIPTextEncode', mode: 0, outputs: [{links: [11]}], widgets_values: ['ugly']},
        {id: 3, type: 'CLIPTextEncode', mode: 4, outputs: [], widgets_values: ['bypassed']},
        {
          id: 4,
          type: 'KSampler',
          inputs: [
            {name: 'positive', link: 10},
            {name: 'negative', link: 11},
          ],
        },
      ],
      links: [],
    }
    expect(parseGenerationPrompt({workflow: JSON.stringify(workflow), prompt: '{not json'})).toEqual({
      positive: 'a dog',
      negative: 'ugly',
      generator: 'comfyui',
    })
  })

  it('NovelAI: Comment JSON prompt and uc; Description when the Comment has no prompt', () => {
    const comment = JSON.stringify({prompt: '1girl, {smile}', uc: 'lowres', steps: 28})
    expect(parseGenerationPrompt({Software: 'NovelAI', Description: '1girl', Comment: comment})).toEqual({
      positive: '1girl, {smile}',
      negative: 'lowres',
      generator: 'novelai',
    })
    expect(parseGenerationPrompt({Software: 'NovelAI', Description: 'cat', Comment: '{"steps": 28}'})).toEqual({
      positive: 'cat',
      negative: '',
      generator: 'novelai',
    })
  })

  it('InvokeAI: invokeai_metadata, sd-metadata and Dream (brackets hold the negative prompt)', () => {
    expect(
      parseGenerationPrompt({invokeai_metadata: '{"positive_prompt":"a fox","negative_prompt":"blurry"}'}),
    ).toEqual({positive: 'a fox', negative: 'blurry', generator: 'invokeai'})
    expect(
      parseGenerationPrompt({'sd-metadata': '{"image":{"prompt":[{"prompt":"a fox [ugly]","weight":1}]}}'}),
    ).toEqual({positive: 'a fox', negative: 'ugly', generator: 'invokeai'})
    expect(parseGenerationPrompt({Dream: '"a "quoted" fox [ugly, dark]" -s 50 -S 42'})).toEqual({
      positive: 'a "quoted" fox',
      negative: 'ugly, dark',
      generator: 'invokeai',
    })
  })

  it('Fooocus: its JSON in parameters; with the a1111 scheme, AUTOMATIC1111 text', () => {
    const doc = {prompt: 'a goldfish', negative_prompt: 'blur', metadata_scheme: 'fooocus', full_prompt: ['x']}
    expect(parseGenerationPrompt({parameters: JSON.stringify(doc), fooocus_scheme: 'fooocus'})).toEqual({
      positive: 'a goldfish',
      negative: 'blur',
      generator: 'fooocus',
    })
    expect(parseGenerationPrompt({parameters: A1111_TEXT, fooocus_scheme: 'a1111'})?.generator).toBe('fooocus')
  })

  it('null for no known layout, empty prompts or malformed JSON; long prompts are cut at a comma', () => {
    expect(parseGenerationPrompt({})).toBeNull()
    expect(parseGenerationPrompt({Software: 'GIMP', Title: 'x'})).toBeNull()
    expect(parseGenerationPrompt({parameters: '   '})).toBeNull()
    expect(parseGenerationPrompt({prompt: '{"1": 5}', invokeai_metadata: '[1,'})).toBeNull()
    const long = parseGenerationPrompt({parameters: 'word, '.repeat(3000)})!
    expect(long.positive.length).toBeLessThanOrEqual(MAX_PROMPT_CHARS)
    expect(long.positive.endsWith('word')).toBe(true)
  })
})

describe('promptTags', () => {
  it('drops weights, emphasis brackets, BREAK and extra networks; keeps escaped brackets as text', () => {
    expect(promptTags('(word:1.2), ((double)), [less], {novel}, BREAK, <lora:name:0.8>, x <hypernet:h:1> y')).toEqual([
      'word',
      'double',
      'less',
      'novel',
      'x',
      'y',
    ])
    expect(promptTags('pokemon \\(creature\\), score\\:9')).toEqual(['pokemon (creature)', 'score:9'])
    expect(promptTags('(red hair, blue eyes:1.3)')).toEqual(['red hair', 'blue eyes'])
  })

  it('splits on commas, line breaks, BREAK and AND; repeats (in any case) are kept once', () => {
    expect(promptTags('a,b\nc BREAK d AND e,, ,A, B')).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('prompt editing and alternation give each alternative; adjacent groups are separate tags', () => {
    expect(promptTags('[cat:dog:0.5], [red|blue] hair, [sky:10]')).toEqual(['cat', 'dog', 'red', 'blue hair', 'sky'])
    expect(promptTags('(masterpiece) (best quality) landscape')).toEqual(['masterpiece', 'best quality landscape'])
  })

  it("NovelAI's 1.2::x:: weights, InvokeAI's compel weights, ComfyUI's embedding: names", () => {
    expect(promptTags('1.3::blue sky::, -1::rain::')).toEqual(['blue sky', 'rain'])
    expect(promptTags('grainy+, noisy--, (red dress)1.2, mid-air')).toEqual(['grainy', 'noisy', 'red dress', 'mid-air'])
    expect(promptTags('embedding:EasyNegative, lowres')).toEqual(['lowres'])
  })

  it('underscores and case are kept; whitespace collapsed', () => {
    expect(promptTags('  long_hair ,  Blue   Eyes ')).toEqual(['long_hair', 'Blue Eyes'])
    expect(promptTags('')).toEqual([])
  })
})

describe('free-text fields that are not infotext', () => {
  it('a JPEG comment or EXIF UserComment counts only with A1111 settings line; PNG `parameters` always', () => {
    // The licence comment of the fixture plasma-Kite-screenshot.jpg, and a camera's note: no prompt.
    expect(parseGenerationPrompt({comment: 'LGPLv3 Risto Saukonpää'})).toBeNull()
    expect(parseGenerationPrompt({UserComment: 'Holiday at the lake'})).toBeNull()
    expect(parseGenerationPrompt({comment: 'a cat, sitting\nSteps: 20, Sampler: Euler a, CFG scale: 7'})).toEqual({
      positive: 'a cat, sitting',
      negative: '',
      generator: 'automatic1111',
    })
    expect(parseGenerationPrompt({parameters: 'a cat, sitting'})).toMatchObject({positive: 'a cat, sitting'})
  })
})
