/**
 * The git adapter's settings that keep a repository's own configuration from running a program (safeConfig), from
 * `git config --list --show-scope -z` text (parseConfigList). The same against real git: test/commands/git-safety.
 */
import {parseConfigList, safeConfig} from '../../src/adapters/git.js'

const listing = (...entries: [string, string, string?][]): string =>
  entries.map(([scope, key, value]) => `${scope}\0${value === undefined ? key : `${key}\n${value}`}\0`).join('')

describe('parseConfigList', () => {
  it('reads scope, key and value, a value with a line break, and a key without a value', () => {
    expect(
      parseConfigList(listing(['global', 'user.name', 'A'], ['local', 'x.multi', 'a\nb'], ['local', 'core.bare'])),
    ).toEqual([
      {scope: 'global', key: 'user.name', value: 'A'},
      {scope: 'local', key: 'x.multi', value: 'a\nb'},
      {scope: 'local', key: 'core.bare', value: undefined},
    ])
    expect(parseConfigList('')).toEqual([])
  })
})

describe('safeConfig', () => {
  it('always turns fsmonitor and signature checks off, and hooks off unless your global config names a hooks folder', () => {
    expect(safeConfig([])).toEqual(['core.fsmonitor=false', 'log.showSignature=false', 'core.hooksPath=/dev/null'])
    const yours = parseConfigList(
      listing(['global', 'core.hookspath', '/home/me/hooks'], ['local', 'core.hookspath', '.evil']),
    )
    expect(safeConfig(yours)).toContain('core.hooksPath=/home/me/hooks')
  })

  it("neutralises the repository's own filters and gpg programs, keeping your global values for the same keys", () => {
    const entries = parseConfigList(
      listing(
        ['global', 'filter.lfs.clean', 'git-lfs clean -- %f'],
        ['global', 'filter.lfs.required', 'true'],
        ['local', 'filter.lfs.clean', 'evil'],
        ['local', 'filter.Evil.smudge', 'evil'],
        ['worktree', 'filter.Evil.process', 'evil'],
        ['local', 'filter.Evil.required', 'true'],
        ['local', 'gpg.ssh.program', 'evil'],
        ['local', 'user.name', 'kept'],
      ),
    )
    expect(safeConfig(entries)).toEqual([
      'core.fsmonitor=false',
      'log.showSignature=false',
      'core.hooksPath=/dev/null',
      'filter.lfs.clean=git-lfs clean -- %f',
      'filter.Evil.smudge=',
      'filter.Evil.process=',
      'filter.Evil.required=false',
      'gpg.ssh.program=',
      'commit.gpgSign=false',
    ])
    // Your global filters alone are left as they are.
    expect(safeConfig(parseConfigList(listing(['global', 'filter.lfs.clean', 'git-lfs clean -- %f'])))).toHaveLength(3)
  })
})
