/**
 * Reading the chain for the indexer and the chain-direct queries: JSON-RPC with real batches,
 * `eth_getLogs` paged by block range (sized to the node's limits, halved when the node refuses a
 * range, grown again while pages stay small), and block headers (hash, timestamp) fetched in
 * batches, never one request per event.
 *
 * @example
 * ```ts
 * import { ChainReader, httpRpc } from "medledger/indexer";
 * const reader = new ChainReader(httpRpc("http://127.0.0.1:8545"));
 * for await (const page of reader.pages({ address: [records], fromBlock: 0, toBlock: await reader.blockNumber() })) {
 *   console.log(page.fromBlock, page.toBlock, page.logs.length);
 * }
 * ```
 */
import { IndexerError } from "./errors.js";
import type { RawLog } from "./events.js";

/** A JSON-RPC transport. */
export interface JsonRpc {
  /** Where it goes (for messages). */
  readonly description: string;
  request(method: string, params: readonly unknown[]): Promise<unknown>;
  /** Several calls in one round trip; results in call order. */
  batch(calls: readonly { method: string; params: readonly unknown[] }[]): Promise<unknown[]>;
}

/** An error object the node answered with (as opposed to a transport failure). */
export class RpcResponseError extends Error {
  override name = "RpcResponseError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface RpcReply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * A JSON-RPC client over HTTP (fetch), with true batch requests.
 *
 * @example
 * ```ts
 * import { httpRpc } from "medledger/indexer";
 * const rpc = httpRpc("http://127.0.0.1:8545");
 * const head = await rpc.request("eth_blockNumber", []);
 * ```
 */
export function httpRpc(url: string, opts: { retries?: number } = {}): JsonRpc {
  let nextId = 1;
  const retries = opts.retries ?? 3;
  const post = async (body: unknown): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      } catch (cause) {
        if (attempt < retries) {
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          continue;
        }
        throw new IndexerError("RPC_UNAVAILABLE", `Cannot reach the JSON-RPC node at ${url}`, {
          cause,
          hint: "Start the node or pass the right --rpc URL; the indexer resumes where it stopped.",
        });
      }
      const text = await res.text();
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // An HTTP error page (413 too large, 502 …): the node refused the request.
        throw new RpcResponseError(res.status, `HTTP ${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
      }
    }
  };
  const unwrap = (reply: RpcReply): unknown => {
    if (reply.error !== undefined) throw new RpcResponseError(reply.error.code, reply.error.message, reply.error.data);
    return reply.result;
  };
  return {
    description: url,
    async request(method, params) {
      const reply = (await post({ jsonrpc: "2.0", id: nextId++, method, params })) as RpcReply;
      return unwrap(reply);
    },
    async batch(calls) {
      if (calls.length === 0) return [];
      const first = nextId;
      nextId += calls.length;
      const replies = await post(
        calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params })),
      );
      if (!Array.isArray(replies)) return [unwrap(replies as RpcReply)];
      const byId = new Map((replies as RpcReply[]).map((r) => [r.id, r]));
      return calls.map((_, i) => {
        const reply = byId.get(first + i);
        if (reply === undefined) throw new RpcResponseError(-32603, "missing reply in batch");
        return unwrap(reply);
      });
    },
  };
}

/**
 * A JSON-RPC transport over any object with ethers' `send(method, params)` (a JsonRpcProvider,
 * which batches concurrent calls itself).
 *
 * @example
 * ```ts
 * import { JsonRpcProvider } from "ethers";
 * import { providerRpc } from "medledger/indexer";
 * const rpc = providerRpc(new JsonRpcProvider("http://127.0.0.1:8545"));
 * ```
 */
export function providerRpc(provider: { send(method: string, params: unknown[]): Promise<unknown> }): JsonRpc {
  return {
    description: "provider",
    request: (method, params) => provider.send(method, [...params]),
    batch: (calls) => Promise.all(calls.map((c) => provider.send(c.method, [...c.params]))),
  };
}

/** A block header as far as the indexer needs it. */
export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** One page of logs and the headers of its blocks (every block with a log, plus `toBlock`). */
export interface LogPage {
  fromBlock: number;
  toBlock: number;
  logs: RawLog[];
  headers: Map<number, BlockHeader>;
}

export interface LogFilter {
  address: readonly string[];
  /** eth_getLogs topics: per position, one topic, a list (OR), or null (any). */
  topics?: readonly (string | readonly string[] | null)[];
}

export interface ChainReaderOptions {
  /** The widest block range ever asked for in one eth_getLogs (the node's limit, if known). Default 10,000. */
  maxBlockRange?: number;
  /** The first range tried. Default 100 (grows while pages stay small). */
  initialBlockRange?: number;
  /** Aim for about this many logs per page (bounds memory). Default 10,000. */
  targetLogsPerPage?: number;
  /** Headers per batch request. Default 200. */
  headerBatchSize?: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

interface JsonLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  logIndex: string;
  transactionHash: string;
  blockHash: string;
  removed?: boolean;
}

function toRawLog(l: JsonLog): RawLog {
  return {
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: parseInt(l.blockNumber, 16),
    logIndex: parseInt(l.logIndex, 16),
    transactionHash: l.transactionHash,
    blockHash: l.blockHash,
    removed: l.removed === true,
  };
}

/**
 * Paged, batched chain reads.
 *
 * @example
 * ```ts
 * import { ChainReader, httpRpc } from "medledger/indexer";
 * const reader = new ChainReader(httpRpc(url), { maxBlockRange: 1000 });
 * const logs = await reader.getLogs({ address: [records] }, 0, 5000);
 * ```
 */
export class ChainReader {
  readonly rpc: JsonRpc;
  readonly #maxRange: number;
  readonly #target: number;
  readonly #headerBatch: number;
  /** The current range: shrinks on refusals, grows while pages are small. */
  #range: number;
  /** The narrowest range the node refused: never ask for this much again. */
  #refused = Number.POSITIVE_INFINITY;
  /** The widest range the node answered: once something was refused, pages stay within it. */
  #accepted = 0;

  constructor(rpc: JsonRpc, opts: ChainReaderOptions = {}) {
    this.rpc = rpc;
    this.#maxRange = Math.max(1, opts.maxBlockRange ?? 10_000);
    this.#range = Math.min(this.#maxRange, Math.max(1, opts.initialBlockRange ?? 100));
    this.#target = Math.max(1, opts.targetLogsPerPage ?? 10_000);
    this.#headerBatch = Math.max(1, opts.headerBatchSize ?? 200);
  }

  /** The block range the reader would ask for next. */
  get blockRange(): number {
    return this.#range;
  }

  async blockNumber(): Promise<number> {
    return parseInt((await this.rpc.request("eth_blockNumber", [])) as string, 16);
  }

  async chainId(): Promise<number> {
    return parseInt((await this.rpc.request("eth_chainId", [])) as string, 16);
  }

  /** Headers of the given blocks, fetched in batches; a block the node does not have is absent. */
  async headers(numbers: Iterable<number>): Promise<Map<number, BlockHeader>> {
    const wanted = [...new Set(numbers)].sort((x, y) => x - y);
    const out = new Map<number, BlockHeader>();
    for (let i = 0; i < wanted.length; i += this.#headerBatch) {
      const chunk = wanted.slice(i, i + this.#headerBatch);
      const blocks = await this.#call(() =>
        this.rpc.batch(chunk.map((nr) => ({ method: "eth_getBlockByNumber", params: [hex(nr), false] }))),
      );
      for (const block of blocks as ({
        number: string;
        hash: string;
        parentHash: string;
        timestamp: string;
      } | null)[]) {
        if (block === null) continue;
        const header = {
          number: parseInt(block.number, 16),
          hash: block.hash.toLowerCase(),
          parentHash: block.parentHash.toLowerCase(),
          timestamp: parseInt(block.timestamp, 16),
        };
        out.set(header.number, header);
      }
    }
    return out;
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof RpcResponseError) {
        throw new IndexerError("RPC_UNAVAILABLE", `The node at ${this.rpc.description} answered: ${err.message}`, {
          cause: err,
          hint: "Check the node's logs; rerun when it is healthy (the indexer resumes).",
        });
      }
      throw err;
    }
  }

  /**
   * All logs of `filter` in [fromBlock, toBlock]. A range the node refuses is split in halves
   * (recursively, down to one block); the reader remembers the refusal for later pages.
   */
  async getLogs(filter: LogFilter, fromBlock: number, toBlock: number): Promise<RawLog[]> {
    if (toBlock < fromBlock) return [];
    const width = toBlock - fromBlock + 1;
    if (width >= this.#refused && width > 1) return this.#split(filter, fromBlock, toBlock);
    try {
      const logs = (await this.rpc.request("eth_getLogs", [
        { address: filter.address, topics: filter.topics ?? [], fromBlock: hex(fromBlock), toBlock: hex(toBlock) },
      ])) as JsonLog[];
      this.#accepted = Math.max(this.#accepted, width);
      return logs.map(toRawLog);
    } catch (err) {
      if (!(err instanceof RpcResponseError)) throw err;
      if (width === 1) {
        throw new IndexerError("RANGE_REFUSED", `The node refused eth_getLogs for block ${fromBlock}: ${err.message}`, {
          cause: err,
          hint: "The node limits log queries below one block; raise its limits (e.g. --rpc-max-logs) or use another node.",
        });
      }
      this.#refused = Math.min(this.#refused, width);
      this.#range = Math.max(1, Math.min(this.#range, Math.floor(width / 2)));
      return this.#split(filter, fromBlock, toBlock);
    }
  }

  async #split(filter: LogFilter, fromBlock: number, toBlock: number): Promise<RawLog[]> {
    const mid = fromBlock + Math.floor((toBlock - fromBlock) / 2);
    const left = await this.getLogs(filter, fromBlock, mid);
    const right = await this.getLogs(filter, mid + 1, toBlock);
    return left.concat(right);
  }

  /** Fetches one page: logs of [fromBlock, toBlock] and the headers of their blocks and of toBlock. */
  async page(filter: LogFilter, fromBlock: number, toBlock: number): Promise<LogPage> {
    const logs = await this.getLogs(filter, fromBlock, toBlock);
    const numbers = new Set<number>([toBlock]);
    for (const log of logs) numbers.add(log.blockNumber);
    const headers = await this.headers(numbers);
    return { fromBlock, toBlock, logs, headers };
  }

  /**
   * Pages through [fromBlock, toBlock], adapting the range to about `targetLogsPerPage` logs per
   * page; fetches the next page while the caller processes the current one.
   */
  async *pages(filter: LogFilter & { fromBlock: number; toBlock: number }): AsyncGenerator<LogPage> {
    let from = filter.fromBlock;
    const end = filter.toBlock;
    const fetchNext = (): Promise<LogPage> | undefined => {
      if (from > end) return undefined;
      const to = Math.min(end, from + this.#range - 1);
      const start = from;
      from = to + 1;
      return this.page(filter, start, to);
    };
    let pending = fetchNext();
    while (pending !== undefined) {
      const page = await pending;
      this.adapt(page);
      pending = fetchNext();
      // Do not leave an unhandled rejection behind if the consumer stops early.
      pending?.catch(() => undefined);
      yield page;
    }
  }

  /** Sizes the next range from a page's log density (called by {@link pages}; call it when paging by hand). */
  adapt(page: LogPage): void {
    const width = page.toBlock - page.fromBlock + 1;
    const perBlock = page.logs.length / width;
    const ideal = perBlock === 0 ? this.#range * 2 : Math.floor(this.#target / perBlock);
    const limit = Number.isFinite(this.#refused)
      ? Math.min(this.#refused - 1, Math.max(1, this.#accepted))
      : this.#maxRange;
    const capped = Math.min(ideal, this.#range * 2, this.#maxRange, limit);
    this.#range = Math.max(1, capped);
  }
}
