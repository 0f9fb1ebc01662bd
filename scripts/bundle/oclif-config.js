// Stands for @oclif/core's config module inside the command bundles (scripts/bundle-commands.js): a bundle is run by
// src/cli/lean.ts with a config it builds from oclif.manifest.json, which `Command.run` receives as its `opts`;
// `Config.load` returns it as it is. Loading oclif's real Config (plugins, package.json files, the TypeScript path
// mapper) is what the bundles exist to avoid.
export const Config = {
  async load(opts) {
    if (opts && opts.lean === true) return opts
    throw new Error('oclif Config.load is not part of a command bundle: run it through bin/run.js.')
  },
}
