// What lora's code imports from '@oclif/core', for the command bundles (scripts/bundle-commands.js): the same
// objects as the package's index, taken from its own modules so that a bundle holds only what running a command
// needs (the index also loads the plugin loader, help and the TypeScript path mapper).
export {Command} from '@oclif/core/command'
export * as Args from '@oclif/core/args'
export * as Errors from '@oclif/core/errors'
export * as Flags from '@oclif/core/flags'
export {flush} from '@oclif/core/flush'
export {ux} from '@oclif/core/ux'

/** Not in a bundle: `run`, `Help` and `Config` are oclif's full path (bin/run.js goes there for help and the rest). */
function unavailable(name) {
  return () => {
    throw new Error(`@oclif/core ${name} is not part of a command bundle (scripts/bundle/oclif-core.js).`)
  }
}
export const run = unavailable('run')
export const Help = class {
  constructor() {
    unavailable('Help')()
  }
}
