// Stands for the `debug` package inside the command bundles (scripts/bundle-commands.js), where only oclif's logger
// uses it. Loading debug costs every start-up several ms (node's tty and util, supports-color probing the terminal,
// its namespace set-up) although it prints only when DEBUG is set. So: with DEBUG set, the real debug (from
// node_modules, as oclif's full path loads it); without, debug's interface with every namespace disabled, which is
// what the real one gives then.
'use strict'

if (process.env.DEBUG) module.exports = require('debug')
else {
  const noop = () => {}
  const createDebug = (namespace) => {
    const debug = () => {}
    debug.namespace = namespace
    debug.enabled = false
    debug.useColors = false
    debug.color = 0
    debug.diff = 0
    debug.log = noop
    debug.destroy = noop
    debug.extend = (sub, delimiter) => createDebug(`${namespace}${delimiter ?? ':'}${sub}`)
    return debug
  }
  createDebug.debug = createDebug
  createDebug.default = createDebug
  createDebug.enable = noop
  createDebug.disable = () => ''
  createDebug.enabled = () => false
  createDebug.names = []
  createDebug.skips = []
  createDebug.formatters = {}
  createDebug.humanize = (ms) => `${ms}ms`
  createDebug.coerce = (value) => value
  module.exports = createDebug
}
