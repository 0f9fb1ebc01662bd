#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 can cache compiled code between runs, which cuts start-up; older versions skip it.
module.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
