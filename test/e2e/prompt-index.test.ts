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
    // The index came in while the line was empty, part-typed (the pseudo-terminal may hand the keys over in more than
    // one read) or complete. Whenever it came, the prompt was drawn again with the same line and, now, suggestions:
    // they showed without another key.
    const draws = session.text.split('? Tags for img_0001').slice(1)
    const lineOf = (draw: string): string => /\n›(?: (\S*))?\s*$/u.exec(draw)?.[1] ?? ''
    const suggests = (draw: string): boolean => /\n⇥ \S+ {2}\S/u.test(draw)
    const redrawnByTheIndex = draws.some(
      (d, i) => i > 0 && suggests(d) && !suggests(draws[i - 1]) && lineOf(d) === lineOf(draws[i - 1]),
    )
    expect({redrawnByTheIndex, draws: redrawnByTheIndex ? [] : draws}).toEqual({redrawnByTheIndex: true, draws: []})
    const alias = session.send('\u0015/lh') // Ctrl-U clears the line
    await session.waitFor(/› \/lh(?=\s|$)/u, alias)
    await session.waitFor(/⇥ long_hair\b/u, alias)
    session.send('\u001b')
    expect((await session.exit()).exitCode).toBe(0)
  })
})
