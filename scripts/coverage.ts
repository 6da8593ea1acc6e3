/**
 * Runs every test (Solidity and TypeScript) with contract coverage, and fails unless line and
 * statement coverage of the contracts are both at least the threshold (default 95%).
 *
 *   node scripts/coverage.ts [--min 95]
 */
import { spawn } from "node:child_process";

const minIndex = process.argv.indexOf("--min");
const min = minIndex > 0 ? Number(process.argv[minIndex + 1]) : 95;

const child = spawn("npx", ["hardhat", "test", "--coverage"], { stdio: ["ignore", "pipe", "inherit"] });
let output = "";
child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString("utf8");
});
const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
if (code !== 0) {
  console.error(`coverage: the test run failed (exit ${code})`);
  process.exit(code);
}
// The last summary row: "║ Total │ <line %> │ <statement %> │ ... ║"
const totals = [...output.matchAll(/Total\s*│\s*([\d.]+)\s*│\s*([\d.]+)/g)];
const last = totals.at(-1);
if (last === undefined) {
  console.error("coverage: no coverage summary found in the test output");
  process.exit(1);
}
const [lines, statements] = [Number(last[1]), Number(last[2])];
console.log(`coverage: lines ${lines}%, statements ${statements}% (minimum ${min}%)`);
if (lines < min || statements < min) {
  console.error("coverage: below the minimum");
  process.exit(1);
}
