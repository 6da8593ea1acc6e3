/**
 * `npm run bench` (not a test): the gas benchmark (reports/gas.json), then sealing/opening
 * throughput with both cipher backends next to their raw twins and the peak RSS growth while
 * sealing (a 1 GiB generated file; `-- --quick`: 256 MiB), then the end-to-end import rate of the
 * ten Synthea bundles, then JSON-RPC calls per put/get and put+get pairs per second on anvil
 * (bench/rpc.ts), then the first-read latency of a batch member without the writer's journal at 1
 * and 100 batches (bench/first-read.ts). Writes reports/bench.json (one flat object) and prints each figure against
 * its target.
 *
 * reports/bench.json is rewritten as soon as figures are measured (after each part of the crypto
 * bench and after each step), so a step that fails loses nothing measured before it: its error is
 * recorded under `errors.<step>`, the remaining steps still run, and the exit code is 1.
 */
import { mkdir, writeFile } from "node:fs/promises";

import { benchCrypto } from "./crypto.js";
import type { CryptoBenchResult } from "./crypto.js";
import { benchFirstRead } from "./first-read.js";
import { runGasBench } from "./gas.js";
import { benchImport } from "./import.js";
import type { ImportBenchResult } from "./import.js";
import { benchRpc } from "./rpc.js";

const quick = process.argv.includes("--quick") || process.env.MEDLEDGER_BENCH_QUICK === "1";
const sizeMiB = quick ? 256 : 1024;
const REPORT = "reports/bench.json";

/** One flat object: nested figures become `<key>.<subkey>`. */
function flat(o: Record<string, unknown>, prefix = ""): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "object" && v !== null) Object.assign(out, flat(v as Record<string, unknown>, `${prefix}${k}.`));
    else if (typeof v === "number" || typeof v === "string") out[`${prefix}${k}`] = v;
  }
  return out;
}

const report: Record<string, number | string> = { benchFileMiB: sizeMiB };
const failed: string[] = [];

async function record(figures: object): Promise<void> {
  Object.assign(report, flat(figures as Record<string, unknown>));
  await mkdir("reports", { recursive: true });
  await writeFile(REPORT, JSON.stringify(report, null, 2) + "\n");
}

/** Runs one step; a failure is recorded and reported, and the next step still runs. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    failed.push(name);
    console.error(`\n${name} failed:`, err);
    await record({ errors: { [name]: err instanceof Error ? err.message : String(err) } });
    return undefined;
  }
}

await step("gas", runGasBench);
console.log(`\nCrypto: sealing and opening a ${sizeMiB} MiB generated file (MB = 10^6 bytes)`);
let crypto: Partial<CryptoBenchResult> = {};
await step("crypto", () =>
  benchCrypto({
    sizeMiB,
    onFigures: async (figures) => {
      crypto = figures;
      await record(figures);
    },
  }),
);
console.log("\nImport: putFhir of the ten Synthea bundles, in-process chain, filesystem storage");
const imported: Partial<ImportBenchResult> = (await step("import", benchImport)) ?? {};
await record(imported);
console.log(
  "\nRPC: JSON-RPC calls per records.put / records.get and put+get pairs per second, anvil with instant mining",
);
const rpc: Partial<Awaited<ReturnType<typeof benchRpc>>> =
  (await step("rpc", () => benchRpc({ pairs: quick ? 40 : 200 }))) ?? {};
await record(rpc);
console.log("\nFirst read of a batch member without the writer's journal, at 1 and 100 batches (anvil)");
const firstRead: Partial<Awaited<ReturnType<typeof benchFirstRead>>> =
  (await step("firstRead", benchFirstRead)) ?? {};
await record(firstRead);

/** A target line: met, MISSED, or NOT RUN (its step failed before measuring it). */
function check(label: string, value: number | undefined, ok: (v: number) => boolean): string {
  if (value === undefined) return `NOT RUN ${label}`;
  return `${ok(value) ? "met    " : "MISSED "} ${label}`;
}
const c = crypto;
const r = crypto.ratios;
/** An SDK figure against its raw twin: the paired ratio (see bench/crypto.ts) against `share`. */
const twin = (
  what: string,
  sdk: number | undefined,
  raw: number | undefined,
  ratio: number | undefined,
  share: number,
) => check(`${what} ${sdk} MB/s vs raw ${raw}: ${ratio} ≥ ${share}`, ratio, (v) => v >= share);
const lines = [
  twin("in memory, node:crypto seal", c.memSealMBpsNode, c.rawMBpsNode, r?.memSealNode, 0.9),
  twin("in memory, node:crypto open", c.memOpenMBpsNode, c.rawOpenMBpsNode, r?.memOpenNode, 0.9),
  twin("file to file, node:crypto seal", c.sealMBpsNode, c.rawFileMBpsNode, r?.sealNode, 0.8),
  twin("file, node:crypto open", c.openMBpsNode, c.rawFileOpenMBpsNode, r?.openNode, 0.8),
  twin("noble seal", c.sealMBpsNoble, c.rawMBpsNoble, r?.sealNoble, 0.8),
  twin("noble open", c.openMBpsNoble, c.rawMBpsNoble, r?.openNoble, 0.8),
  check(`peak RSS growth while sealing ${c.sealPeakRssGrowthMiB} MiB ≤ 64 MiB`, c.sealPeakRssGrowthMiB, (v) => v <= 64),
  check(
    `import ${imported.importRecordsPerSec} records/s ≥ 200 (${imported.importRecords} records in ${imported.importSeconds} s)`,
    imported.importRecordsPerSec,
    (v) => v >= 200,
  ),
  check(`rpcCallsPerPut ${rpc.rpcCallsPerPut} ≤ 6`, rpc.rpcCallsPerPut, (v) => v <= 6),
  check(`rpcCallsPerGet ${rpc.rpcCallsPerGet} ≤ 6`, rpc.rpcCallsPerGet, (v) => v <= 6),
  check(`putGetPairsPerSecAnvil ${rpc.putGetPairsPerSecAnvil} ≥ 40`, rpc.putGetPairsPerSecAnvil, (v) => v >= 40),
  check(
    `first read at 100 batches ${firstRead.firstReadMs100Batches} ms does not grow: ≤ 1.5 × at 1 batch (${firstRead.firstReadMs1Batch} ms) + 5 ms`,
    firstRead.firstReadMs100Batches,
    (v) => v <= 1.5 * (firstRead.firstReadMs1Batch ?? 0) + 5,
  ),
  check(
    `manifests fetched per first read at 100 batches ${firstRead.firstReadManifests100Batches} = 1`,
    firstRead.firstReadManifests100Batches,
    (v) => v === 1,
  ),
];
console.log("");
for (const line of lines) console.log(line);
console.log(`\nwrote ${REPORT}`);
if (failed.length > 0) {
  console.error(`bench: ${failed.join(", ")} failed; the figures measured before the failure are in ${REPORT}`);
  process.exit(1);
}
