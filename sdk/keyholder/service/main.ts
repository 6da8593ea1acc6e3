#!/usr/bin/env node
/**
 * Standalone entry of the keyholder service, the same as `medledger keyholder start --config <file>`
 * without the rest of the CLI (the tests and the demo start it this way, through tsx):
 * `node dist/sdk/keyholder/service/main.js --config <file>`.
 */
import { parseArgs } from "node:util";

import { runKeyholder } from "./command.js";

const { values } = parseArgs({ options: { config: { type: "string" } }, allowPositionals: true });
if (values.config === undefined) {
  process.stderr.write("usage: main.js --config <file>\n");
  process.exit(2);
}
process.exitCode = await runKeyholder(values.config);
