/**
 * JSON-RPC round trips and put+get throughput on anvil with instant mining (zero gas, like a
 * QBFT consortium network), counted by a JSON-RPC wrapper on the participants' providers:
 *
 * - `rpcCallsPerPut`, `rpcCallsPerGet`: one `records.put` by a doctor, one `records.get` by the
 *   patient (another account, without the writer's journal), on a provider built with the
 *   options the SDK recommends (`connectRpc`); `…DefaultProvider`: the same on
 *   `new JsonRpcProvider(url)` with ethers' defaults. The custodian keyholder runs on its own
 *   provider; its calls per release are `rpcCallsPerKeyRelease`.
 * - `putGetPairsPerSecAnvil`: sequential put+get pairs per second (target ≥ 40), and
 *   `…DefaultProvider` with ethers' defaults (its 10 ms batch stall costs every call).
 *
 *   npx tsx bench/rpc.ts [--pairs 100]     # prints JSON
 */
import { Wallet, hexlify } from "ethers";
import type { JsonRpcApiProviderOptions } from "ethers";

import { MedLedger, RECOMMENDED_PROVIDER_OPTIONS, memoryJournal } from "../sdk/index.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import type { Consortium, Participant } from "../fixtures/consortium.js";
import { startAnvil } from "../fixtures/nodes.js";
import { CountingProvider } from "../fixtures/rpc-counter.js";

export interface RpcBenchResult {
  rpcCallsPerPut: number;
  rpcCallsPerGet: number;
  rpcCallsPerKeyRelease: number;
  putGetPairsPerSecAnvil: number;
  rpcCallsPerPutDefaultProvider: number;
  rpcCallsPerGetDefaultProvider: number;
  putGetPairsPerSecAnvilDefaultProvider: number;
  /** The calls of the counted put and get, by method (recommended options). */
  rpcPutMethods: Record<string, number>;
  rpcGetMethods: Record<string, number>;
}

interface Run {
  put: Record<string, number>;
  get: Record<string, number>;
  release: Record<string, number>;
  pairsPerSec: number;
}

const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

async function run(
  c: Consortium,
  url: string,
  chainId: number,
  keyholderRpc: CountingProvider,
  options: JsonRpcApiProviderOptions | undefined,
  pairs: number,
): Promise<Run> {
  const writerRpc = new CountingProvider(url, options === undefined ? undefined : chainId, options);
  const readerRpc = new CountingProvider(url, options === undefined ? undefined : chainId, options);
  const on = (p: Participant, provider: CountingProvider) =>
    MedLedger.create({
      ...p.ml.options,
      signer: new Wallet(hexlify(p.identity.signingKey), provider),
      journal: memoryJournal(),
    });
  const writer = await on(c.doctor, writerRpc);
  const reader = await on(c.patient, readerRpc); // not the writer: no writer's journal
  const opts = { category: "OBSERVATIONS" as const, mediaType: "application/fhir+json" };
  const label = options === undefined ? "default" : "recommended";
  // Warm-up: the first transaction of an account reads its nonce; consent hints are learned.
  const warm = await writer.records.put(c.subject, `{"warm-up":"${label}"}`, opts);
  await reader.records.get(warm, { purpose: "PATRQT" });

  writerRpc.take();
  const id = await writer.records.put(c.subject, `{"counted":"${label}"}`, opts);
  const put = writerRpc.take();
  readerRpc.take();
  keyholderRpc.take();
  await reader.records.get(id, { purpose: "PATRQT" });
  const get = readerRpc.take();
  const release = keyholderRpc.take();

  const start = performance.now();
  for (let i = 0; i < pairs; i++) {
    const r = await writer.records.put(c.subject, `{"pair":${i},"run":"${label}"}`, opts);
    await reader.records.get(r, { purpose: "PATRQT" });
  }
  const pairsPerSec = pairs / ((performance.now() - start) / 1000);
  writerRpc.destroy();
  readerRpc.destroy();
  return { put, get, release, pairsPerSec };
}

export async function benchRpc(opts: { pairs?: number } = {}): Promise<RpcBenchResult> {
  const pairs = opts.pairs ?? 100;
  const node = await startAnvil({ blockTime: 0 });
  const keyholderRpc = new CountingProvider(node.url, node.chainId, { ...RECOMMENDED_PROVIDER_OPTIONS, staticNetwork: true });
  try {
    const c = await setUpConsortium({ provider: keyholderRpc, funder: await node.provider.getSigner(0), funding: 0n });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["OBSERVATIONS"],
      purposes: ["TREAT"],
      actions: ["APPEND"],
    });
    const recommended = await run(c, node.url, node.chainId, keyholderRpc, RECOMMENDED_PROVIDER_OPTIONS, pairs);
    const defaults = await run(c, node.url, node.chainId, keyholderRpc, undefined, Math.max(10, Math.floor(pairs / 4)));
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      rpcCallsPerPut: total(recommended.put),
      rpcCallsPerGet: total(recommended.get),
      rpcCallsPerKeyRelease: total(recommended.release),
      putGetPairsPerSecAnvil: round(recommended.pairsPerSec),
      rpcCallsPerPutDefaultProvider: total(defaults.put),
      rpcCallsPerGetDefaultProvider: total(defaults.get),
      putGetPairsPerSecAnvilDefaultProvider: round(defaults.pairsPerSec),
      rpcPutMethods: recommended.put,
      rpcGetMethods: recommended.get,
    };
  } finally {
    keyholderRpc.destroy();
    await node.stop();
  }
}

if (process.argv[1]?.endsWith("rpc.ts") === true) {
  const i = process.argv.indexOf("--pairs");
  const pairs = i > 0 ? Number(process.argv[i + 1]) : undefined;
  console.log(JSON.stringify(await benchRpc({ pairs }), null, 2));
}
