/**
 * Compiles every Solidity source (contracts and Solidity tests) from scratch and fails on any
 * compiler warning: warnings are errors in this project.
 *
 *   node scripts/build-strict.ts
 */
import { spawnSync } from "node:child_process";

const result = spawnSync("npx", ["hardhat", "build", "--force"], { encoding: "utf8", shell: false });
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
if (result.status !== 0) process.exit(result.status ?? 1);
const warnings = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => /^Warning\b/.test(line));
if (warnings.length > 0) {
  console.error(`\nbuild-strict: ${warnings.length} compiler warning(s); warnings are errors here.`);
  process.exit(1);
}
console.log("build-strict: no compiler warnings");
