/**
 * Runs the contracts' tests (the Solidity fuzz and invariant suites and test/contracts) with contract
 * coverage, and fails unless line and statement coverage of the contracts are both at least the
 * threshold (default 95%).
 *
 * Coverage instruments the bytecode, so the SDK's deployment check cannot recognise the contracts
 * by their code hash: the run sets MEDLEDGER_CONTRACT_COVERAGE=1, which skips that one comparison
 * (sdk/chain/verify.ts). The SDK's own suites, which test that check, run uninstrumented in `npm test`.
 *
 *   node scripts/coverage.ts [--min 95]
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";

const minIndex = process.argv.indexOf("--min");
const min = minIndex > 0 ? Number(process.argv[minIndex + 1]) : 95;

const files = async (dir: string, suffix: string) =>
  (await readdir(dir)).filter((f) => f.endsWith(suffix)).map((f) => `${dir}/${f}`);
const tests = [...(await files("test/solidity", ".t.sol")), ...(await files("test/contracts", ".test.ts"))];
const child = spawn("npx", ["hardhat", "--coverage", "test", ...tests], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, MEDLEDGER_CONTRACT_COVERAGE: "1" },
});
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
