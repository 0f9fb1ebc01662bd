/**
 * src/cli/top-level.ts handleTopLevel: what an error that escaped every command becomes. An ExitError (`this.exit`,
 * thrown after the command printed its error) ends the process with its code at once: oclif's own handler would
 * render it and clean its stack first (for nothing: it prints neither), loading modules a command never needs.
 */
import {jest} from '@jest/globals'
import {Errors} from '@oclif/core'
import * as handling from '@oclif/core/handle'
import {handleTopLevel} from '../../src/cli/top-level.js'

describe('handleTopLevel', () => {
  const realExit = Object.getOwnPropertyDescriptor(handling.Exit, 'exit')!
  let codes: number[]
  beforeEach(() => {
    codes = []
    handling.Exit.exit = ((code = 0) => void codes.push(code)) as unknown as typeof handling.Exit.exit
  })
  afterEach(() => {
    Object.defineProperty(handling.Exit, 'exit', realExit)
    jest.restoreAllMocks()
  })

  it('ends the process with an ExitError’s code at once, printing nothing and never rendering it', async () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => {})
    for (const code of [0, 3, 130]) {
      const error = new Errors.ExitError(code)
      let stackReads = 0
      // oclif's handler reads the stack to clean it (and log it): a sign that the error went through it.
      Object.defineProperty(error, 'stack', {
        get: () => {
          stackReads++
          return 'Error: EEXIT'
        },
      })
      codes = []
      await handleTopLevel(error, [])
      expect(codes).toEqual([code])
      expect(stackReads).toBe(0)
    }
    expect(printed).not.toHaveBeenCalled()
  })

  it('leaves an error marked skipOclifErrorHandling to oclif’s handler (its exit code, nothing printed)', async () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => {})
    const error = Object.assign(new Errors.CLIError('quiet', {exit: 4}), {skipOclifErrorHandling: true})
    await handleTopLevel(error, [])
    expect(codes).toEqual([4])
    expect(printed).not.toHaveBeenCalled()
  })
})
