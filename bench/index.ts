/**
 * `npm run bench` (not a test): runs the steps of {@link STEPS} in order and writes
 * reports/bench.json (one flat object), then prints each figure against its target:
 * - gas: the gas benchmark (reports/gas.json);
 * - crypto: sealing/opening throughput with both cipher backends next to their raw twins and the
 *   peak RSS growth while sealing (a 1 GiB generated file; `-- --quick`: 256 MiB);
 * - import: the end-to-end import rate of the ten Synthea bundles;
 * - rpc: JSON-RPC calls per put/get and put+get pairs per second on anvil (bench/rpc.ts);
 * - firstRead: the first-read latency of a batch member without the writer's journal at 1 and 100
 *   batches (bench/first-read.ts);
 * - keyholder: k-of-n key release latency and throughput over real keyholder processes on
 *   loopback (bench/keyholder.ts).
 *
 * `npm run bench -- --only keyholder[,rpc…]` (and `npm run bench:keyholder`) runs just those steps
 * and merges their figures into the existing reports/bench.json.
 *
 * reports/bench.json is rewritten as soon as figures are measured (after each part of the crypto
 * bench and after each step), so a step that fails loses nothing measured before it: its error is
 * recorded under `errors.<step>`, the remaining steps still run, and the exit code is 1.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";

import { benchCrypto } from "./crypto.js";
import type { CryptoBenchResult } from "./crypto.js";
import { benchFirstRead } from "./first-read.js";
import { runGasBench } from "./gas.js";
import { benchImport } from "./import.js";
import type { ImportBenchResult } from "./import.js";
import { benchKeyholder } from "./keyholder.js";
import type { KeyholderBenchFigures } from "./keyholder.js";
import { benchResearch } from "./research.js";
import { benchRpc } from "./rpc.js";

const quick = process.argv.includes("--quick") || process.env.MEDLEDGER_BENCH_QUICK === "1";
/** `--only a,b` (scripts/bench.ts passes it on as MEDLEDGER_BENCH_ONLY): run just these steps. */
const only = process.env.MEDLEDGER_BENCH_ONLY?.split(",")
  .map((name) => name.trim())
  .filter((name) => name.length > 0);
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

/** A full run starts afresh; a partial run (`--only`) keeps the figures of the steps it does not run. */
async function previousReport(): Promise<Record<string, number | string>> {
  if (only === undefined) return { benchFileMiB: sizeMiB };
  try {
    return JSON.parse(await readFile(REPORT, "utf8")) as Record<string, number | string>;
  } catch {
    return {};
  }
}

const report: Record<string, number | string> = await previousReport();
const failed: string[] = [];

async function record(figures: object): Promise<void> {
  Object.assign(report, flat(figures as Record<string, unknown>));
  await mkdir("reports", { recursive: true });
  await writeFile(REPORT, JSON.stringify(report, null, 2) + "\n");
}

/** A target line: met, MISSED, or NOT RUN (its step failed before measuring it). */
function check(label: string, value: number | undefined, ok: (v: number) => boolean): string {
  if (value === undefined) return `NOT RUN ${label}`;
  return `${ok(value) ? "met    " : "MISSED "} ${label}`;
}

/**
 * One bench step: `run` measures and returns its figures (it may also `record` partial figures as
 * it goes); `targets` turns whatever was measured (possibly nothing, if it failed) into target
 * lines. Add a step by adding an entry here (and, for its own npm script, `--only <name>`).
 */
interface BenchStep<F extends object> {
  name: string;
  title: string;
  run: () => Promise<F>;
  targets: (figures: Partial<F>) => string[];
}

let crypto: Partial<CryptoBenchResult> = {};
/** An SDK figure against its raw twin: the paired ratio (see bench/crypto.ts) against `share`. */
const twin = (what: string, sdk?: number, raw?: number, ratio?: number, share = 0.8) =>
  check(`${what} ${sdk} MB/s vs raw ${raw}: ${ratio} ≥ ${share}`, ratio, (v) => v >= share);

const gasStep: BenchStep<object> = {
  name: "gas",
  title: "Gas: the contracts' operations (reports/gas.json)",
  run: async () => {
    await runGasBench();
    return {};
  },
  targets: () => [],
};

const cryptoStep: BenchStep<Partial<CryptoBenchResult>> = {
  name: "crypto",
  title: `Crypto: sealing and opening a ${sizeMiB} MiB generated file (MB = 10^6 bytes)`,
  run: async () => {
    await record({ benchFileMiB: sizeMiB });
    await benchCrypto({
      sizeMiB,
      onFigures: async (figures) => {
        crypto = figures;
        await record(figures);
      },
    });
    return crypto;
  },
  targets: (f) => {
    const c = { ...crypto, ...f };
    const r = c.ratios;
    return [
      twin("in memory, node:crypto seal", c.memSealMBpsNode, c.rawMBpsNode, r?.memSealNode, 0.9),
      twin("in memory, node:crypto open", c.memOpenMBpsNode, c.rawOpenMBpsNode, r?.memOpenNode, 0.9),
      twin("file to file, node:crypto seal", c.sealMBpsNode, c.rawFileMBpsNode, r?.sealNode, 0.8),
      twin("file, node:crypto open", c.openMBpsNode, c.rawFileOpenMBpsNode, r?.openNode, 0.8),
      twin("noble seal", c.sealMBpsNoble, c.rawMBpsNoble, r?.sealNoble, 0.8),
      twin("noble open", c.openMBpsNoble, c.rawMBpsNoble, r?.openNoble, 0.8),
      check(
        `peak RSS growth while sealing ${c.sealPeakRssGrowthMiB} MiB ≤ 64 MiB`,
        c.sealPeakRssGrowthMiB,
        (v) => v <= 64,
      ),
    ];
  },
};

const importStep: BenchStep<ImportBenchResult> = {
  name: "import",
  title: "Import: putFhir of the ten Synthea bundles, in-process chain, filesystem storage",
  run: benchImport,
  targets: (f) => [
    check(
      `import ${f.importRecordsPerSec} records/s ≥ 200 (${f.importRecords} records in ${f.importSeconds} s)`,
      f.importRecordsPerSec,
      (v) => v >= 200,
    ),
  ],
};

const rpcStep: BenchStep<Awaited<ReturnType<typeof benchRpc>>> = {
  name: "rpc",
  title: "RPC: JSON-RPC calls per records.put / records.get and put+get pairs per second, anvil with instant mining",
  run: () => benchRpc({ pairs: quick ? 40 : 200 }),
  targets: (f) => [
    check(`rpcCallsPerPut ${f.rpcCallsPerPut} ≤ 6`, f.rpcCallsPerPut, (v) => v <= 6),
    check(`rpcCallsPerGet ${f.rpcCallsPerGet} ≤ 6`, f.rpcCallsPerGet, (v) => v <= 6),
    check(`putGetPairsPerSecAnvil ${f.putGetPairsPerSecAnvil} ≥ 40`, f.putGetPairsPerSecAnvil, (v) => v >= 40),
  ],
};

const firstReadStep: BenchStep<Awaited<ReturnType<typeof benchFirstRead>>> = {
  name: "firstRead",
  title: "First read of a batch member without the writer's journal, at 1 and 100 batches (anvil)",
  run: benchFirstRead,
  targets: (f) => [
    check(
      `first read at 100 batches ${f.firstReadMs100Batches} ms does not grow: ≤ 1.5 × at 1 batch (${f.firstReadMs1Batch} ms) + 5 ms`,
      f.firstReadMs100Batches,
      (v) => v <= 1.5 * (f.firstReadMs1Batch ?? 0) + 5,
    ),
    check(
      `manifests fetched per first read at 100 batches ${f.firstReadManifests100Batches} = 1`,
      f.firstReadManifests100Batches,
      (v) => v === 1,
    ),
  ],
};

const keyholderStep: BenchStep<KeyholderBenchFigures> = {
  name: "keyholder",
  title: "Keyholders: one k-of-n key release (k = 2 of n = 3, and 3 of 5) over HTTP on loopback, and releases/s",
  run: () => benchKeyholder({ quick }),
  targets: (f) => [
    check(
      `keyReleaseP95Ms ${f.keyReleaseP95Ms} ms ≤ 50 (p50 ${f.keyReleaseP50Ms} ms; k = 2, n = 3)`,
      f.keyReleaseP95Ms,
      (v) => v <= 50,
    ),
    check(`keyReleasesPerSec ${f.keyReleasesPerSec} ≥ 500`, f.keyReleasesPerSec, (v) => v >= 500),
    check(`keyReleaseP95MsK3N5 ${f.keyReleaseP95MsK3N5} ms ≤ 50 (k = 3, n = 5)`, f.keyReleaseP95MsK3N5, (v) => v <= 50),
  ],
};

const researchStep: BenchStep<Record<string, number>> = {
  name: "research",
  title: "Research: one aggregation over HTTP (1,000-cell histogram, 3 custodians) and a whole study end to end",
  run: () => benchResearch({ quick }),
  targets: (f) => [
    check(`researchAggregateP95Ms ${f.researchAggregateP95Ms} ms ≤ 200`, f.researchAggregateP95Ms, (v) => v <= 200),
    check(
      `researchStudySeconds ${f.researchStudySeconds} s ≤ 30 (${f.researchStudyPatients} patients)`,
      f.researchStudySeconds,
      (v) => v <= 30,
    ),
  ],
};

/** The steps, in order; `--only <name>` selects by `name` (`npm run bench:keyholder`, `bench:research`). */
const STEPS: BenchStep<object>[] = [
  gasStep,
  cryptoStep,
  importStep,
  rpcStep,
  firstReadStep,
  keyholderStep,
  researchStep,
] as BenchStep<object>[];

const unknown = (only ?? []).filter((name) => !STEPS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`bench: unknown step ${unknown.join(", ")}; the steps are ${STEPS.map((s) => s.name).join(", ")}`);
  process.exit(2);
}

const lines: string[] = [];
for (const s of STEPS) {
  if (only !== undefined && !only.includes(s.name)) continue;
  console.log(`\n${s.title}`);
  delete report[`errors.${s.name}`];
  let figures: object = {};
  try {
    figures = await s.run();
    await record(figures);
  } catch (err) {
    failed.push(s.name);
    console.error(`\n${s.name} failed:`, err);
    await record({ errors: { [s.name]: err instanceof Error ? err.message : String(err) } });
  }
  lines.push(...s.targets(figures));
}

console.log("");
for (const line of lines) console.log(line);
console.log(`\nwrote ${REPORT}`);
if (failed.length > 0) {
  console.error(`bench: ${failed.join(", ")} failed; the figures measured before the failure are in ${REPORT}`);
  process.exit(1);
}
