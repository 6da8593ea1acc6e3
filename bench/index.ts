/**
 * `npm run bench` (not a test): the gas benchmark (reports/gas.json), then sealing/opening
 * throughput with both cipher backends next to the raw cipher rates and the peak RSS growth while
 * sealing (a 1 GiB generated file; `-- --quick`: 256 MiB), then the end-to-end import rate of the
 * ten Synthea bundles, then JSON-RPC calls per put/get and put+get pairs per second on anvil
 * (bench/rpc.ts), then the first-read latency of a batch member without the writer's journal at 1
 * and 100 batches (bench/first-read.ts). Writes reports/bench.json (one flat object) and prints
 * each figure against its target.
 */
import { mkdir, writeFile } from "node:fs/promises";

import { benchCrypto } from "./crypto.js";
import { benchFirstRead } from "./first-read.js";
import { runGasBench } from "./gas.js";
import { benchImport } from "./import.js";
import { benchRpc } from "./rpc.js";

const quick = process.argv.includes("--quick") || process.env.MEDLEDGER_BENCH_QUICK === "1";
const sizeMiB = quick ? 256 : 1024;

await runGasBench();
console.log(`\nCrypto: sealing and opening a ${sizeMiB} MiB generated file (MB = 10^6 bytes)`);
const crypto = await benchCrypto({ sizeMiB });
console.log("\nImport: putFhir of the ten Synthea bundles, in-process chain, filesystem storage");
const imported = await benchImport();
console.log(
  "\nRPC: JSON-RPC calls per records.put / records.get and put+get pairs per second, anvil with instant mining",
);
const rpc = await benchRpc({ pairs: quick ? 40 : 200 });
console.log("\nFirst read of a batch member without the writer's journal, at 1 and 100 batches (anvil)");
const firstRead = await benchFirstRead();

/** One flat object: nested figures become `<key>.<subkey>`. */
function flat(o: Record<string, unknown>, prefix = ""): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "object" && v !== null) Object.assign(out, flat(v as Record<string, unknown>, `${prefix}${k}.`));
    else if (typeof v === "number" || typeof v === "string") out[`${prefix}${k}`] = v;
  }
  return out;
}
const figures = flat({ ...crypto, ...imported, ...rpc, ...firstRead, benchFileMiB: sizeMiB });
const checks: [string, boolean][] = [
  [
    `node:crypto seal ${crypto.sealMBpsNode} MB/s ≥ 70% of raw ${crypto.rawMBpsNode}`,
    crypto.sealMBpsNode >= 0.7 * crypto.rawMBpsNode,
  ],
  [
    `node:crypto open ${crypto.openMBpsNode} MB/s ≥ 70% of raw ${crypto.rawMBpsNode}`,
    crypto.openMBpsNode >= 0.7 * crypto.rawMBpsNode,
  ],
  [
    `noble seal ${crypto.sealMBpsNoble} MB/s ≥ 80% of raw ${crypto.rawMBpsNoble}`,
    crypto.sealMBpsNoble >= 0.8 * crypto.rawMBpsNoble,
  ],
  [
    `noble open ${crypto.openMBpsNoble} MB/s ≥ 80% of raw ${crypto.rawMBpsNoble}`,
    crypto.openMBpsNoble >= 0.8 * crypto.rawMBpsNoble,
  ],
  [`peak RSS growth while sealing ${crypto.sealPeakRssGrowthMiB} MiB ≤ 64 MiB`, crypto.sealPeakRssGrowthMiB <= 64],
  [
    `import ${imported.importRecordsPerSec} records/s ≥ 200 (${imported.importRecords} records in ${imported.importSeconds} s)`,
    imported.importRecordsPerSec >= 200,
  ],
  [`rpcCallsPerPut ${rpc.rpcCallsPerPut} ≤ 6`, rpc.rpcCallsPerPut <= 6],
  [`rpcCallsPerGet ${rpc.rpcCallsPerGet} ≤ 6`, rpc.rpcCallsPerGet <= 6],
  [`putGetPairsPerSecAnvil ${rpc.putGetPairsPerSecAnvil} ≥ 40`, rpc.putGetPairsPerSecAnvil >= 40],
  [
    `first read at 100 batches ${firstRead.firstReadMs100Batches} ms does not grow: ≤ 1.5 × at 1 batch (${firstRead.firstReadMs1Batch} ms) + 5 ms`,
    firstRead.firstReadMs100Batches <= 1.5 * firstRead.firstReadMs1Batch + 5,
  ],
  [
    `manifests fetched per first read at 100 batches ${firstRead.firstReadManifests100Batches} = 1`,
    firstRead.firstReadManifests100Batches === 1,
  ],
];
console.log("");
for (const [line, ok] of checks) console.log(`${ok ? "met    " : "MISSED "} ${line}`);
await mkdir("reports", { recursive: true });
await writeFile("reports/bench.json", JSON.stringify(figures, null, 2) + "\n");
console.log("\nwrote reports/bench.json");
