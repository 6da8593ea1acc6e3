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
import { RECOMMENDED_PROVIDER_OPTIONS } from "../sdk/index.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import { startAnvil } from "../fixtures/nodes.js";
import { CountingProvider, countPutGet, total } from "../fixtures/rpc-counter.js";

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

export async function benchRpc(opts: { pairs?: number } = {}): Promise<RpcBenchResult> {
  const pairs = opts.pairs ?? 100;
  const node = await startAnvil({ blockTime: 0 });
  const keyholderRpc = new CountingProvider(node.url, node.chainId, {
    ...RECOMMENDED_PROVIDER_OPTIONS,
    staticNetwork: true,
  });
  try {
    const c = await setUpConsortium({ provider: keyholderRpc, funder: await node.provider.getSigner(0), funding: 0n });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["OBSERVATIONS"],
      purposes: ["TREAT"],
      actions: ["APPEND"],
    });
    const recommended = await countPutGet(c, node, keyholderRpc, RECOMMENDED_PROVIDER_OPTIONS, pairs);
    const defaults = await countPutGet(c, node, keyholderRpc, undefined, Math.max(10, Math.floor(pairs / 4)));
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
