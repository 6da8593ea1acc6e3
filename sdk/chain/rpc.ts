/**
 * The few JSON-RPC calls the SDK makes on its hot paths, sent straight to the node (see
 * `sender`: an HTTP JsonRpcProvider's request primitive, else the provider's `send`):
 *
 * - no cache: ethers caches identical requests for 250 ms (`cacheTimeout`), which served deploys
 *   a stale nonce ("nonce too low") on instant-mining nodes; these calls never go through it;
 * - no chain id round trip per call: ethers re-asks `eth_chainId` before each call on a provider
 *   built without `staticNetwork`; the SDK checks the chain id once, at start-up;
 * - no batching delay: ethers holds each request 10 ms (`batchStallTime`) to batch it with
 *   others; the SDK's calls are sequential, so it only added latency;
 * - RPC failures (connection refused, timeouts, node errors that are not reverts) become
 *   `RpcError` naming the method; reverts keep their data for the decoder.
 *
 * Providers without `send` (FallbackProvider…) go through ethers' generic methods instead.
 *
 * @internal
 */
import { getAddress, toQuantity } from "ethers";
import type {
  ContractRunner,
  JsonRpcError,
  JsonRpcPayload,
  JsonRpcResult,
  Log,
  Provider,
  TransactionReceipt,
  TransactionRequest,
} from "ethers";

import { MedLedgerError, RpcError } from "../errors.js";
import { revertData, toSdkError } from "./errors.js";

type Send = (method: string, params: unknown[]) => Promise<unknown>;

/** A call or transaction as JSON-RPC wants it. */
export interface RpcRequest {
  from?: string;
  to?: string | null;
  data?: string;
  value?: bigint;
}

/** A raw log as returned by eth_getLogs. */
export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
}

/** A mined transaction's receipt, as the SDK uses it. */
export interface RpcReceipt {
  hash: string;
  status: number;
  blockNumber: number;
  blockHash: string;
  contractAddress: string | null;
  gasUsed: bigint;
  logs: RpcLog[];
}

function rpcRequest(tx: RpcRequest): Record<string, string> {
  const out: Record<string, string> = {};
  if (tx.from !== undefined) out.from = tx.from;
  if (tx.to !== undefined && tx.to !== null) out.to = tx.to;
  if (tx.data !== undefined) out.data = tx.data;
  if (tx.value !== undefined && tx.value !== 0n) out.value = toQuantity(tx.value);
  return out;
}

const num = (v: unknown): number => Number(BigInt(v as string));

function toLog(raw: Record<string, unknown>): RpcLog {
  return {
    address: String(raw.address),
    topics: raw.topics as string[],
    data: String(raw.data),
    blockNumber: num(raw.blockNumber),
    transactionHash: String(raw.transactionHash),
    logIndex: num(raw.logIndex ?? raw.index ?? 0),
  };
}

function toReceipt(raw: Record<string, unknown>): RpcReceipt {
  return {
    hash: String(raw.transactionHash),
    status: num(raw.status),
    blockNumber: num(raw.blockNumber),
    blockHash: String(raw.blockHash),
    contractAddress: typeof raw.contractAddress === "string" ? getAddress(raw.contractAddress) : null,
    gasUsed: BigInt(raw.gasUsed as string),
    logs: (raw.logs as Record<string, unknown>[]).map(toLog),
  };
}

function fromEthersReceipt(r: TransactionReceipt): RpcReceipt {
  return {
    hash: r.hash,
    status: r.status ?? 0,
    blockNumber: r.blockNumber,
    blockHash: r.blockHash,
    contractAddress: r.contractAddress,
    gasUsed: r.gasUsed,
    logs: r.logs.map(fromEthersLog),
  };
}

function fromEthersLog(l: Log): RpcLog {
  return {
    address: l.address,
    topics: [...l.topics],
    data: l.data,
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
    logIndex: l.index,
  };
}

/** A JSON-RPC endpoint as the SDK uses it. */
export interface Rpc {
  readonly provider: Provider;
  /** The node's URL when the provider is a JsonRpcProvider (for error messages). */
  readonly url: string | undefined;
  chainId(): Promise<bigint>;
  blockNumber(): Promise<number>;
  /** The latest block's base fee (undefined before London) and timestamp. */
  latestBlock(): Promise<{ number: number; timestamp: number; baseFeePerGas: bigint | undefined }>;
  blockTimestamp(blockNumber: number): Promise<number>;
  gasPrice(): Promise<bigint>;
  maxPriorityFeePerGas(): Promise<bigint>;
  /** The account's next nonce including pending transactions, never from a cache. */
  nonce(account: string, tag?: "pending" | "latest"): Promise<number>;
  code(address: string, blockTag?: number): Promise<string>;
  call(tx: RpcRequest, blockTag?: number): Promise<string>;
  estimateGas(tx: RpcRequest): Promise<bigint>;
  sendRaw(signed: string): Promise<string>;
  receipt(hash: string): Promise<RpcReceipt | null>;
  /** Whether the node knows the transaction (mined or pending). */
  knowsTransaction(hash: string): Promise<boolean>;
  logs(filter: {
    address: string | string[];
    topics: (string | string[] | null)[];
    fromBlock: number;
  }): Promise<RpcLog[]>;
}

function urlOf(provider: Provider): string | undefined {
  try {
    const conn = (provider as { _getConnection?: () => { url?: string } })._getConnection?.();
    return typeof conn?.url === "string" ? conn.url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error to throw for a failed RPC call: contract reverts (with revert data) and SDK errors
 * pass through for the decoder; anything else is an RpcError naming the method and node.
 */
export function rpcFailure(err: unknown, method: string, url: string | undefined): unknown {
  if (err instanceof MedLedgerError) return err;
  if (revertData(err) !== undefined) return err;
  const code = (err as { code?: unknown })?.code;
  // ethers' CALL_EXCEPTION without data (a revert with no reason, e.g. a call to an address without code)
  if (code === "CALL_EXCEPTION") return err;
  const text = err instanceof Error ? ((err as { shortMessage?: string }).shortMessage ?? err.message) : String(err);
  return new RpcError(`JSON-RPC ${method} failed${url === undefined ? "" : ` at ${url}`}: ${text}`, {
    url,
    method,
    cause: err,
  });
}

/** The JSON-RPC primitives of an ethers JsonRpcProvider (HTTP). */
interface JsonRpcPrimitives {
  _send(payload: JsonRpcPayload): Promise<(JsonRpcResult | JsonRpcError)[]>;
  getRpcError(payload: JsonRpcPayload, error: JsonRpcError): Error;
  _getConnection(): unknown;
}

let directId = 1_000_000_000;

/**
 * How to send one JSON-RPC request. On an HTTP JsonRpcProvider, straight through its `_send`
 * primitive (the one ethers itself uses to detect the network): no batch queue, so no 10 ms
 * `batchStallTime` per call whatever options the app built the provider with; errors are
 * standardized by the provider's own `getRpcError`. Elsewhere through `send`.
 */
function sender(provider: Provider): Send | undefined {
  const p = provider as Partial<JsonRpcPrimitives> & { send?: Send };
  if (typeof p._send === "function" && typeof p.getRpcError === "function" && typeof p._getConnection === "function") {
    const primitives = p as JsonRpcPrimitives;
    return async (method, params) => {
      const payload: JsonRpcPayload = { method, params, id: directId++, jsonrpc: "2.0" };
      const [result] = await primitives._send(payload);
      if (result === undefined) throw new RpcError(`JSON-RPC ${method}: empty response`, { method });
      if ("error" in result) throw primitives.getRpcError(payload, result);
      return result.result as unknown;
    };
  }
  return typeof p.send === "function" ? p.send.bind(provider) : undefined;
}

/** The SDK's view of a provider's JSON-RPC endpoint. */
export function rpcOf(provider: Provider): Rpc {
  const url = urlOf(provider);
  const send = sender(provider);
  const call = async <T>(method: string, raw: () => Promise<T>): Promise<T> => {
    try {
      return await raw();
    } catch (err) {
      throw rpcFailure(err, method, url);
    }
  };
  const tag = (b?: number) => (b === undefined ? "latest" : toQuantity(b));

  if (send !== undefined) {
    return {
      provider,
      url,
      chainId: () => call("eth_chainId", async () => BigInt((await send("eth_chainId", [])) as string)),
      blockNumber: () => call("eth_blockNumber", async () => num(await send("eth_blockNumber", []))),
      latestBlock: () =>
        call("eth_getBlockByNumber", async () => {
          const b = (await send("eth_getBlockByNumber", ["latest", false])) as Record<string, unknown>;
          return {
            number: num(b.number),
            timestamp: num(b.timestamp),
            baseFeePerGas: b.baseFeePerGas == null ? undefined : BigInt(b.baseFeePerGas as string),
          };
        }),
      blockTimestamp: (n) =>
        call("eth_getBlockByNumber", async () => {
          const b = (await send("eth_getBlockByNumber", [toQuantity(n), false])) as Record<string, unknown> | null;
          if (b === null) throw new RpcError(`Block ${n} not found`, { url, method: "eth_getBlockByNumber" });
          return num(b.timestamp);
        }),
      gasPrice: () => call("eth_gasPrice", async () => BigInt((await send("eth_gasPrice", [])) as string)),
      maxPriorityFeePerGas: () =>
        call("eth_maxPriorityFeePerGas", async () => BigInt((await send("eth_maxPriorityFeePerGas", [])) as string)),
      nonce: (account, t = "pending") =>
        call("eth_getTransactionCount", async () => num(await send("eth_getTransactionCount", [account, t]))),
      code: (address, b) => call("eth_getCode", async () => String(await send("eth_getCode", [address, tag(b)]))),
      call: (tx, b) => call("eth_call", async () => String(await send("eth_call", [rpcRequest(tx), tag(b)]))),
      estimateGas: (tx) =>
        call("eth_estimateGas", async () => BigInt((await send("eth_estimateGas", [rpcRequest(tx)])) as string)),
      sendRaw: (signed) =>
        call("eth_sendRawTransaction", async () => String(await send("eth_sendRawTransaction", [signed]))),
      receipt: (hash) =>
        call("eth_getTransactionReceipt", async () => {
          const r = (await send("eth_getTransactionReceipt", [hash])) as Record<string, unknown> | null;
          return r === null || r.blockNumber == null ? null : toReceipt(r);
        }),
      knowsTransaction: (hash) =>
        call("eth_getTransactionByHash", async () => (await send("eth_getTransactionByHash", [hash])) !== null),
      logs: (f) =>
        call("eth_getLogs", async () => {
          const raw = (await send("eth_getLogs", [
            { address: f.address, topics: f.topics, fromBlock: toQuantity(f.fromBlock), toBlock: "latest" },
          ])) as Record<string, unknown>[];
          return raw.map(toLog);
        }),
    };
  }

  // Generic providers: ethers' own methods (cached and chain-id-checked, but correct).
  const asRequest = (tx: RpcRequest): TransactionRequest => ({ ...tx, to: tx.to ?? undefined });
  return {
    provider,
    url,
    chainId: () => call("eth_chainId", async () => (await provider.getNetwork()).chainId),
    blockNumber: () => call("eth_blockNumber", () => provider.getBlockNumber()),
    latestBlock: () =>
      call("eth_getBlockByNumber", async () => {
        const b = await provider.getBlock("latest");
        if (b === null) throw new RpcError("No latest block", { url });
        return { number: b.number, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? undefined };
      }),
    blockTimestamp: (n) =>
      call("eth_getBlockByNumber", async () => {
        const b = await provider.getBlock(n);
        if (b === null) throw new RpcError(`Block ${n} not found`, { url });
        return b.timestamp;
      }),
    gasPrice: () => call("eth_gasPrice", async () => (await provider.getFeeData()).gasPrice ?? 0n),
    maxPriorityFeePerGas: () =>
      call("eth_maxPriorityFeePerGas", async () => (await provider.getFeeData()).maxPriorityFeePerGas ?? 0n),
    nonce: (account, t = "pending") => call("eth_getTransactionCount", () => provider.getTransactionCount(account, t)),
    code: (address, b) => call("eth_getCode", () => provider.getCode(address, b)),
    call: (tx, b) => call("eth_call", () => provider.call({ ...asRequest(tx), blockTag: b })),
    estimateGas: (tx) => call("eth_estimateGas", () => provider.estimateGas(asRequest(tx))),
    sendRaw: (signed) => call("eth_sendRawTransaction", async () => (await provider.broadcastTransaction(signed)).hash),
    receipt: (hash) =>
      call("eth_getTransactionReceipt", async () => {
        const r = await provider.getTransactionReceipt(hash);
        return r === null ? null : fromEthersReceipt(r);
      }),
    knowsTransaction: (hash) =>
      call("eth_getTransactionByHash", async () => (await provider.getTransaction(hash)) !== null),
    logs: (f) =>
      call("eth_getLogs", async () =>
        (await provider.getLogs({ address: f.address, topics: f.topics, fromBlock: f.fromBlock })).map(fromEthersLog),
      ),
  };
}

/**
 * An ethers ContractRunner whose reads go through {@link Rpc.call}: TypeChain read methods then
 * cost one `eth_call` each, and a revert surfaces as the decoded, typed SDK error.
 */
export function readRunner(rpc: Rpc, from?: string): ContractRunner {
  return {
    provider: rpc.provider,
    call: async (tx: TransactionRequest) => {
      try {
        return await rpc.call({
          from: typeof tx.from === "string" ? tx.from : from,
          to: typeof tx.to === "string" ? tx.to : undefined,
          data: tx.data ?? undefined,
        });
      } catch (err) {
        throw toSdkError(err, "Contract read failed", rpc.url);
      }
    },
  };
}
