#!/usr/bin/env node
// Development entry: like run.js, but oclif reports more (stack traces, debug output).
// It runs the compiled sources in dist/, so run `npm run build` after changing src/.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
