/**
 * Keyholder network benchmark (not a test): real keyholder processes on loopback (fixtures/
 * keyholders.ts: anvil, contracts 1.1, n services), the KeyholderNetwork client over HTTP.
 *
 * - keyReleaseP50Ms / keyReleaseP95Ms: one k-of-n release (k = 2, n = 3), one at a time, from the
 *   signed requests to the verified, reconstructed key — excluding the access transaction. Since
 *   sealed labels this is two rounds: the record's custodian keyholder (sealed rule at the access
 *   block and now, policy token), then the others with its token;
 * - keyPreflightP50Ms: one preflight (every keyholder's public check, the custodian keyholder's
 *   sealed rule and permit choice), the step before an access is logged;
 * - keyReleasesPerSec: k-of-n releases per second with `concurrency` in flight across the three
 *   keyholders (and keyholderSharesPerSec: the share releases the keyholders served meanwhile);
 * - keyReleaseP95MsK3N5: as keyReleaseP95Ms for k = 3 of n = 5.
 *
 * Everything (anvil, the keyholders, the client) shares this machine's cores, so the figures are a
 * floor for a real deployment, where each keyholder has its own machine and node.
 *
 * @example
 * ```ts
 * import { benchKeyholder } from "./keyholder.js";
 * const figures = await benchKeyholder({ quick: true });
 * ```
 */
import { loadavg } from "node:os";

import { PURPOSE, startKeyholderWorld } from "../fixtures/keyholders.js";
import type { KeyholderWorld } from "../fixtures/keyholders.js";

export interface KeyholderBenchFigures {
  keyReleaseP50Ms: number;
  keyReleaseP95Ms: number;
  keyPreflightP50Ms: number;
  keyReleasesPerSec: number;
  keyholderSharesPerSec: number;
  keyReleaseP95MsK3N5: number;
  /** The machine's 1-minute load average when the run ended (2 cores; other work shares them). */
  keyholderBenchLoadAvg: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number) => Math.round(x * 10) / 10;

async function latencies(w: KeyholderWorld, count: number): Promise<number[]> {
  const { recordId } = await w.writeRecord();
  const times: number[] = [];
  let accessTx = await w.access(w.doctor, recordId);
  let accessAt = Date.now();
  const release = () =>
    w.network.release({ reader: w.doctor.wallet, readerKeys: w.doctor.keys, subject: w.subject, recordId, accessTx });
  for (let i = 0; i < 10; i++) await release(); // warm-up
  for (let i = 0; i < count; i++) {
    if (Date.now() - accessAt > 120_000) {
      accessTx = await w.access(w.doctor, recordId);
      accessAt = Date.now();
    }
    const t = performance.now();
    await release();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

async function preflights(w: KeyholderWorld, count: number): Promise<number[]> {
  const { recordId } = await w.writeRecord();
  const preflight = () =>
    w.network.preflight({ reader: w.doctor.wallet, subject: w.subject, recordId, purpose: PURPOSE.TREAT });
  for (let i = 0; i < 10; i++) await preflight(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await preflight();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

async function throughput(
  w: KeyholderWorld,
  total: number,
  concurrency: number,
): Promise<{ perSec: number; shares: number }> {
  const { recordId } = await w.writeRecord();
  const accessTx = await w.access(w.doctor, recordId);
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await w.network.release({
          reader: w.doctor.wallet,
          readerKeys: w.doctor.keys,
          subject: w.subject,
          recordId,
          accessTx,
        });
      }
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  const n = (await w.chain.keyholderSet()).members.length;
  return { perSec: total / seconds, shares: (total * n) / seconds };
}

export async function benchKeyholder(opts: { quick?: boolean } = {}): Promise<KeyholderBenchFigures> {
  const samples = opts.quick ? 100 : 400;
  const config = { maxAccessAgeSeconds: 600, logLevel: "error" };
  const w = await startKeyholderWorld({ n: 3, k: 2, config });
  let p50: number;
  let p95: number;
  let preflightP50: number;
  let rate: { perSec: number; shares: number };
  try {
    const times = await latencies(w, samples);
    p50 = percentile(times, 50);
    p95 = percentile(times, 95);
    preflightP50 = percentile(await preflights(w, Math.min(samples, 200)), 50);
    rate = await throughput(w, opts.quick ? 500 : 2000, 32);
  } finally {
    await w.stop();
  }
  const w5 = await startKeyholderWorld({ n: 5, k: 3, config });
  let p95k3: number;
  try {
    p95k3 = percentile(await latencies(w5, samples), 95);
  } finally {
    await w5.stop();
  }
  return {
    keyReleaseP50Ms: round(p50),
    keyReleaseP95Ms: round(p95),
    keyPreflightP50Ms: round(preflightP50),
    keyReleasesPerSec: Math.round(rate.perSec),
    keyholderSharesPerSec: Math.round(rate.shares),
    keyReleaseP95MsK3N5: round(p95k3),
    keyholderBenchLoadAvg: round(loadavg()[0] ?? 0),
  };
}

// `npx tsx bench/keyholder.ts [--quick]` prints the figures as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchKeyholder({ quick: process.argv.includes("--quick") });
  console.log(JSON.stringify(figures, null, 2));
}
