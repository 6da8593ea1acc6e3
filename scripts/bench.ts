/**
 * `npm run bench [-- --quick] [-- --only <step>[,<step>…]]`: runs bench/index.ts under Hardhat
 * (which refuses unknown flags), passing --quick on as MEDLEDGER_BENCH_QUICK=1 (a 256 MiB file
 * instead of 1 GiB) and --only as MEDLEDGER_BENCH_ONLY (just those steps, merged into the existing
 * reports/bench.json; `npm run bench:keyholder` is `--only keyholder`).
 */
import { spawnSync } from "node:child_process";

const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
if (onlyAt > 0 && (only === undefined || only.startsWith("--"))) {
  console.error("bench: --only needs a step name, e.g. --only keyholder");
  process.exit(2);
}
const result = spawnSync("npx", ["hardhat", "run", "bench/index.ts"], {
  stdio: "inherit",
  env: {
    ...process.env,
    ...(quick ? { MEDLEDGER_BENCH_QUICK: "1" } : {}),
    ...(only === undefined ? {} : { MEDLEDGER_BENCH_ONLY: only }),
  },
});
process.exit(result.status ?? 1);
