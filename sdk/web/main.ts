#!/usr/bin/env node
/**
 * Standalone entry of the web view, the same as `medledger web --config <file>` without the rest
 * of the CLI: `node dist/sdk/web/main.js --config <file>`.
 */
import { parseArgs } from "node:util";

import { runWeb } from "./command.js";

const { values } = parseArgs({ options: { config: { type: "string" } }, allowPositionals: true });
if (values.config === undefined) {
  process.stderr.write("usage: main.js --config <file>\n");
  process.exit(2);
}
process.exitCode = await runWeb(values.config);
