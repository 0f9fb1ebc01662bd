/**
 * The matching behind "did you mean" (src/core/did-you-mean.ts) and the split of global flags given before the
 * command (src/cli/global-flags.ts).
 */
import {closestNames, editDistance} from '../../src/core/did-you-mean.js'
import {splitLeadingGlobals} from '../../src/cli/global-flags.js'

const COMMANDS = ['blame', 'export', 'init', 'log', 'next', 'repair', 'resume', 'status', 'tag', 'tags', 'undo']

describe('editDistance', () => {
  it.each([
    ['status', 'status', 0],
    ['stauts', 'status', 1], // one swap of adjacent letters
    ['tagg', 'tag', 1],
    ['tagg', 'tags', 1],
    ['', 'log', 3],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // optimal string alignment: no substring edited twice
  ])('%s → %s: %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })
})

describe('closestNames', () => {
  it.each([
    ['stauts', ['status']],
    ['STATUS', ['status']],
    ['lgo', ['log']],
    ['nxt', ['next']],
    ['rsume', ['resume']],
    ['tagg', ['tag', 'tags']],
    ['ex', ['export']], // no name within one edit: the names it starts
    ['re', ['repair', 'resume']],
    ['xyzzy', []],
    ['q', []],
    ['statuses', ['status']], // two edits, allowed for a word of 8 letters
  ])('%s → %j', (typed, expected) => {
    expect(closestNames(typed, COMMANDS)).toEqual(expected)
  })

  it('allows one edit up to 5 letters, two up to 8', () => {
    expect(closestNames('abcd', ['wxcd'])).toEqual([])
    expect(closestNames('abcdef', ['wxcdef'])).toEqual(['wxcdef'])
    expect(closestNames('abcdef', ['wxydef'])).toEqual([])
  })

  it('is empty for no names', () => {
    expect(closestNames('status', [])).toEqual([])
  })
})

describe('splitLeadingGlobals', () => {
  it.each([
    [['status'], [], ['status']],
    [
      ['-C', 'ds', 'status', '--json'],
      ['-C', 'ds'],
      ['status', '--json'],
    ],
    [['-Cds', '--json', 'log'], ['-Cds', '--json'], ['log']],
    [
      ['--dataset=ds', '--no-color', 'tags', 'rename', 'a', 'b'],
      ['--dataset=ds', '--no-color'],
      ['tags', 'rename', 'a', 'b'],
    ],
    [
      ['--dataset', 'ds', 'tag', '-C', 'x'],
      ['--dataset', 'ds'],
      ['tag', '-C', 'x'],
    ],
    [['--add', 'x', 'tag'], [], ['--add', 'x', 'tag']],
    [['--', 'status'], [], ['--', 'status']],
    [[], [], []],
  ])('%j', (argv, globals, rest) => {
    expect(splitLeadingGlobals(argv)).toEqual({globals, rest})
  })

  it.each([
    [['-C'], '-C'],
    [['--json', '--dataset'], '--dataset'],
    [['-C', '--json', 'status'], '-C'],
  ])('%j: a value is missing', (argv, flag) => {
    expect(splitLeadingGlobals(argv).missingValue).toBe(flag)
  })
})
