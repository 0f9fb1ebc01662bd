// Stands for ejs inside the command bundles (scripts/bundle-commands.js): oclif renders help and examples with it,
// and help is always shown by oclif's full path (bin/run.js sends `--help` there).
export default {
  render() {
    throw new Error('ejs is not part of a command bundle: bin/run.js runs `--help` through oclif.')
  },
}
