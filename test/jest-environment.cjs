// The suite's jest environment: jest's node environment, with the worker's child processes started by a small helper
// process (test/spawn-server/client.cjs says why). This module runs in the worker itself, outside the test files'
// sandboxes, once per worker. LORA_TEST_SPAWN_SERVER=0 turns the helper off.
'use strict'
require('./spawn-server/client.cjs').install()
module.exports = require('jest-environment-node').TestEnvironment
