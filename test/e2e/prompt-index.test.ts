/**
 * `lora next` with a reference vocabulary imported: the prompt is drawn before the reference index is loaded (the
 * prompt asks for it once drawn: TaggingItem.loadSuggestions), keys typed at once are kept, and the suggestions of
 * the reference show for them as soon as the index is in, without another key. In a real pseudo-terminal.
 */
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, ROOT} from '../helpers.js'
import {cleanupTemps, GOOD_FIXTURES, initDataset, loraOk} from './e2e-helpers.js'

afterEach(killRunning)
afterAll(cleanupTemps)

describe('the tag prompt and the reference index', () => {
  it('keys typed as the prompt appears are kept and get the reference suggestions', async () => {
    const dir = await initDataset({names: GOOD_FIXTURES})
    await loraOk(['tags', 'import', join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')], {cwd: dir})
    const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: 'none'}
    delete env.CI
    const session = new PtySession(['next'], dir, env)
    await session.waitFor(/Tags for img_0001/u)
    // Typed with no pause, while the index may still be loading: a prefix and an alias (`/lh` → long_hair) of the
    // reference, which the dataset's own vocabulary (empty) cannot suggest.
    const at = session.send('long_ha')
    await session.waitFor(/› long_ha(?=\s|$)/u, at)
    await session.waitFor(/⇥ long_hair {2}general 4\.4M/u, at)
    // The first draw came before the index: no suggestions for the empty line then.
    expect(session.text.split('⏎ add tag')[1]).not.toMatch(/1girl/u)
    // The index came in either while the line was still empty (its suggestions then showed for the empty line) or
    // after the keys (then the draw of `long_ha` had none, and the next draw, with no key sent since, has them):
    // either way they showed without another key.
    const draws = session.text.split('? Tags for img_0001').slice(1)
    const first = draws.findIndex((d) => d.includes('⇥ long_hair'))
    const onEmptyLine = draws.some((d) => /⇥ 1girl {2}general 6\.0M/u.test(d))
    const afterTheKeys = first > 0 && draws[first - 1].includes('› long_ha') && !draws[first - 1].includes('⇥')
    expect({onEmptyLine, afterTheKeys}).not.toEqual({onEmptyLine: false, afterTheKeys: false})
    const alias = session.send('\u0015/lh') // Ctrl-U clears the line
    await session.waitFor(/› \/lh(?=\s|$)/u, alias)
    await session.waitFor(/⇥ long_hair\b/u, alias)
    session.send('\u001b')
    expect((await session.exit()).exitCode).toBe(0)
  })
})
