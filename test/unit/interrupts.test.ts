/**
 * store/interrupts.ts: what a stop signal does at each moment (the decisions only; test/reliability/interrupts.test.ts
 * sends real signals to the binary), and the journal's description and shape check used by the messages.
 * The module's state is per process and never reset, so the sequence runs in one test, in order.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  beginChange,
  changeInFlight,
  endChange,
  lockTaken,
  onStopBeforeChange,
  requestStop,
  throwIfStopRequested,
  writingOutside,
} from '../../src/store/interrupts.js'
import {describeJournal, parseJournal} from '../../src/store/journal.js'
import {DatasetError, InterruptedError} from '../../src/errors.js'
import {makeTemp, removeTemp} from '../helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTemp('lora-interrupts-')
})
afterAll(() => removeTemp(dir))

it('stops at once between changes (removing the locks, undoing a fresh init), defers during a change, and a third signal stops at once', async () => {
  const lock = join(dir, 'lock')
  await fsp.writeFile(lock, '{}')
  lockTaken(lock)
  let undone = 0
  const forget = onStopBeforeChange(() => undone++)
  // Nothing in flight: exit now, lock removed, the fresh init's folder undone.
  expect(requestStop('SIGINT', 'Ctrl-C')).toEqual({exitNow: true, message: 'Interrupted before anything was changed.'})
  expect(fs.existsSync(lock)).toBe(false)
  expect(undone).toBe(1)
  forget()

  // An export under way: still at once, saying what is incomplete.
  const done = writingOutside(() => 'the export to /x is incomplete (3 of 9 images written)')
  expect(requestStop('SIGTERM', 'SIGTERM again')).toEqual({
    exitNow: true,
    message: 'Interrupted: the export to /x is incomplete (3 of 9 images written). The dataset itself was not changed.',
  })
  done()

  // A change in flight: the first two signals wait, the third stops.
  expect(beginChange('moving 3 images')).toBe(true)
  expect(beginChange('nested')).toBe(false)
  expect(changeInFlight()).toBe('moving 3 images')
  expect(requestStop('SIGHUP', 'SIGHUP again')).toEqual({
    exitNow: false,
    message: 'Interrupted: finishing moving 3 images first, so that nothing is lost…',
  })
  expect(requestStop('SIGINT', 'Ctrl-C').message).toMatch(
    /^Still finishing moving 3 images\. Press Ctrl-C again to stop now/u,
  )
  const third = requestStop('SIGINT', 'Ctrl-C')
  expect(third.exitNow).toBe(true)
  expect(third.message).toMatch(
    /^Stopped before moving 3 images was finished: the change is kept in \.lora-tagger\/journal\.json/u,
  )
  endChange()
  expect(changeInFlight()).toBeUndefined()

  // Once finished, the first signal's code and a message saying what was finished.
  let error: unknown
  try {
    throwIfStopRequested('moving 3 images')
  } catch (thrown) {
    error = thrown
  }
  expect(error).toBeInstanceOf(InterruptedError)
  expect(error).toMatchObject({
    exitCode: 129,
    signal: 'SIGHUP',
    message: 'Interrupted: finished moving 3 images; nothing lost.',
  })

  // After a finished change, a stop between changes says so.
  expect(requestStop('SIGINT', 'Ctrl-C').message).toBe(
    'Interrupted between changes: every change made before was finished and saved; nothing is half-done.',
  )
})

describe('describeJournal', () => {
  it('names image moves by their mode and count, other changes by their kind', () => {
    const place = (mode: 'copy' | 'move' | 'link') => ({
      op: 'place-image' as const,
      source: 'a.jpg',
      target: 'output/img_0001.jpg',
      sha256: 'x',
      mode,
    })
    expect(describeJournal({kind: 'init', ops: Array.from({length: 2000}, () => place('move'))})).toBe(
      'moving 2,000 images',
    )
    expect(describeJournal({kind: 'init', ops: [place('copy')]})).toBe('copying 1 image')
    expect(describeJournal({kind: 'tag', ops: [{op: 'write', path: 'output/a.txt', text: ''}]})).toBe(
      'the tag change (1 file)',
    )
  })
})

describe('parseJournal', () => {
  it.each([
    ['{', /is damaged: /u],
    ['"text"', /is damaged: it is not a JSON object\./u],
    ['{"version": 2, "kind": "tag", "ops": []}', /"version" is not 1/u],
    ['{"version": 1, "ops": []}', /"kind" is not a string/u],
    ['{"version": 1, "kind": "tag", "ops": "x"}', /"ops" is not a list/u],
    ['{"version": 1, "kind": "tag", "ops": [null]}', /ops\[0\] is not an object/u],
    [
      '{"version": 1, "kind": "tag", "ops": [{"op": "rm", "path": "a"}]}',
      /ops\[0\]\.op "rm" is not an operation lora knows/u,
    ],
    ['{"version": 1, "kind": "tag", "ops": [{"op": "write", "path": "a"}]}', /ops\[0\]\.text is not a string/u],
    [
      '{"version": 1, "kind": "tag", "ops": [{"op": "create", "path": "", "text": ""}]}',
      /ops\[0\]\.path is not a non-empty string/u,
    ],
    [
      '{"version": 1, "kind": "init", "ops": [{"op": "place-image", "source": "a", "target": "b", "sha256": "c", "mode": "cut"}]}',
      /ops\[0\]\.mode is not copy, move or link/u,
    ],
  ])('%s is refused, naming the field', (text, message) => {
    expect(() => parseJournal(text)).toThrow(DatasetError)
    expect(() => parseJournal(text)).toThrow(message)
    expect(() => parseJournal(text)).toThrow(/^\.lora-tagger\/journal\.json is damaged/u)
  })

  it('accepts a well-formed journal', () => {
    const journal = {version: 1, kind: 'tag', createdAt: 'now', ops: [{op: 'write', path: 'output/a.txt', text: ''}]}
    expect(parseJournal(JSON.stringify(journal))).toEqual(journal)
  })
})
