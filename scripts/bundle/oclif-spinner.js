// Stands for oclif's spinner action inside the command bundles (scripts/bundle-commands.js): oclif's simple action
// instead. lora never starts oclif's action (its progress is its own, src/ui/terminal.ts); oclif only stops it, a
// no-op when none runs. Saves cli-spinners' table (48 kB) at every start.
export {default} from '../../node_modules/@oclif/core/lib/ux/action/simple.js'
