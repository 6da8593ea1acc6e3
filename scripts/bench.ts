/**
 * `npm run bench [-- --quick]`: runs bench/index.ts under Hardhat (which refuses unknown flags),
 * passing --quick on as MEDLEDGER_BENCH_QUICK=1 (a 256 MiB file instead of 1 GiB).
 */
import { spawnSync } from "node:child_process";

const quick = process.argv.includes("--quick");
const result = spawnSync("npx", ["hardhat", "run", "bench/index.ts"], {
  stdio: "inherit",
  env: { ...process.env, ...(quick ? { MEDLEDGER_BENCH_QUICK: "1" } : {}) },
});
process.exit(result.status ?? 1);
