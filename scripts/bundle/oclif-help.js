// Stands for @oclif/core's help module inside the command bundles (scripts/bundle-commands.js). Help is always shown
// by oclif's full path (bin/run.js sends `--help` there), so a bundle never formats help; the flags module only
// reaches it from the `--help` flag's parser and the error handler only for errors a command did not print itself.
export async function loadHelpClass() {
  throw new Error('oclif help is not part of a command bundle: bin/run.js runs `--help` through oclif.')
}
export class Help {
  constructor() {
    throw new Error('oclif help is not part of a command bundle: bin/run.js runs `--help` through oclif.')
  }
}
