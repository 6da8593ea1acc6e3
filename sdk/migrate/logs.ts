/**
 * Paged `eth_getLogs`: reads every log of some contracts over a block range in pieces a node
 * accepts. Nodes refuse large queries in different ways (a block-range limit, a result-count limit,
 * a response-size limit, a timeout) and throttle busy clients; this reader halves the range when a
 * query is refused, backs off (exponentially) when the node is busy or unreachable, and grows the
 * range again after successes, up to `maxRange`.
 */
import type { Log, Provider } from "ethers";

import { RpcError } from "../errors.js";

export interface PagedLogsOptions {
  /** The most blocks one query covers (default 5,000: under the common 10,000-block limits). */
  maxRange?: number;
  /** Retries of one range after a busy/unreachable answer before giving up (default 8). */
  retries?: number;
  /** The first back-off pause in ms (default 250; doubles on each retry, at most 10 s). */
  backoffMs?: number;
  /** Called for every refused or failed query (for logs and tests). */
  onRefusal?: (info: { fromBlock: number; toBlock: number; error: unknown; action: "shrink" | "backoff" }) => void;
}

export interface PagedLogsStats {
  queries: number;
  refusals: number;
  logs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function text(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e));
    const nested = (e as { error?: { message?: unknown; code?: unknown } }).error;
    if (nested !== undefined) parts.push(`${String(nested.code)} ${String(nested.message)}`);
    const info = (e as { info?: unknown }).info;
    if (info !== undefined) parts.push(JSON.stringify(info));
  }
  return parts.join(" | ");
}

/** A busy or unreachable node: wait and ask the same again. */
function isBusy(err: unknown): boolean {
  return /\b429\b|rate.?limit|too many requests|busy|temporarily|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|503|502/i.test(
    text(err),
  );
}

/**
 * Every log emitted by `addresses` in blocks `fromBlock..toBlock`, in chain order (block, then log
 * index). Throws an {@link RpcError} when the node keeps failing one range (after `retries`) or
 * refuses even a single block.
 */
export async function fetchLogsPaged(
  provider: Provider,
  filter: { addresses: readonly string[]; fromBlock: number; toBlock: number },
  options: PagedLogsOptions = {},
  stats: PagedLogsStats = { queries: 0, refusals: 0, logs: 0 },
): Promise<Log[]> {
  const maxRange = Math.max(1, options.maxRange ?? 5_000);
  const retries = options.retries ?? 8;
  const backoffMs = options.backoffMs ?? 250;
  const out: Log[] = [];
  let range = maxRange;
  let from = filter.fromBlock;
  let failures = 0;
  while (from <= filter.toBlock) {
    const to = Math.min(filter.toBlock, from + range - 1);
    stats.queries++;
    try {
      const logs = await provider.getLogs({ address: [...filter.addresses], fromBlock: from, toBlock: to });
      out.push(...logs);
      stats.logs += logs.length;
      from = to + 1;
      failures = 0;
      range = Math.min(maxRange, range * 2);
    } catch (error) {
      stats.refusals++;
      const busy = isBusy(error);
      if (!busy && range > 1) {
        options.onRefusal?.({ fromBlock: from, toBlock: to, error, action: "shrink" });
        range = Math.max(1, Math.floor(range / 2));
        continue;
      }
      options.onRefusal?.({ fromBlock: from, toBlock: to, error, action: "backoff" });
      if (++failures > retries) {
        throw new RpcError(`eth_getLogs kept failing for blocks ${from}..${to}`, {
          method: "eth_getLogs",
          cause: error,
          details: `${failures} attempts; range ${range} block(s)`,
        });
      }
      await sleep(Math.min(10_000, backoffMs * 2 ** (failures - 1)));
    }
  }
  out.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return out;
}
