/**
 * A JSON-RPC provider with the options the SDK recommends, after checking that the node answers.
 *
 * ethers' defaults are tuned for public networks, not for a consortium node next door:
 * - `batchStallTime` 10 ms: every request waits 10 ms to be batched with others. The SDK's calls
 *   are sequential, so it only adds latency (a put + get pair was 5× slower on anvil).
 *   `batchMaxCount: 1` sends each request at once.
 * - without `staticNetwork`, ethers asks `eth_chainId` again before most calls; a consortium's
 *   chain id does not change. (The SDK's own calls avoid both costs anyway, but ethers' methods
 *   an app calls directly do not.)
 * - `pollingInterval` 4 s: waits for events and receipts in 4-second steps; 1 s suits 1-second
 *   blocks (the SDK polls receipts itself).
 * - `cacheTimeout` 250 ms: identical requests within 250 ms get the cached answer — including
 *   `eth_getTransactionCount`, so an app that sends with ethers right after the SDK (or right
 *   after its own previous transaction) is served a stale nonce ("nonce too low"). The SDK's own
 *   calls never use this cache; `cacheTimeout: -1` switches it off for the app's calls too.
 *
 * @example
 * ```ts
 * import { Wallet } from "ethers";
 * import { connectRpc } from "medledger";
 * const provider = await connectRpc("http://127.0.0.1:8545");
 * const signer = new Wallet(process.env.KEY!, provider);
 * ```
 */
import { JsonRpcProvider, Network } from "ethers";
import type { JsonRpcApiProviderOptions } from "ethers";

import { InvalidInputError, RpcError } from "../errors.js";

/** The provider options the SDK recommends for a private or consortium node (see the module comment). */
export const RECOMMENDED_PROVIDER_OPTIONS: JsonRpcApiProviderOptions = {
  batchMaxCount: 1,
  pollingInterval: 1000,
  cacheTimeout: -1,
};

/**
 * Checks that a JSON-RPC node answers at `url` (one `eth_chainId`, with a timeout) and returns a
 * JsonRpcProvider with {@link RECOMMENDED_PROVIDER_OPTIONS} and the chain id fixed. An
 * unreachable node is an RpcError naming the URL.
 */
export async function connectRpc(url: string, opts: { timeoutMs?: number } = {}): Promise<JsonRpcProvider> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`Not a URL: ${JSON.stringify(url)}`, { field: "url" });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new InvalidInputError(`Only http(s) JSON-RPC URLs are supported: ${url}`, { field: "url" });
  let chainId: bigint;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    const body = (await res.json()) as { result?: string; error?: { message?: string } };
    if (typeof body.result !== "string") throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    chainId = BigInt(body.result);
  } catch (cause) {
    const reason =
      cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
    throw new RpcError(`Cannot reach the JSON-RPC node at ${url} (${reason})`, {
      url,
      method: "eth_chainId",
      cause,
      details: "check that the node is running and that the URL and port are right",
    });
  }
  const network = Network.from(chainId);
  return new JsonRpcProvider(url, network, { ...RECOMMENDED_PROVIDER_OPTIONS, staticNetwork: network });
}
