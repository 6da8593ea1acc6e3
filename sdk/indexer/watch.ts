/**
 * The live access feed: each new read of a subject's records (or by an accessor), as soon as it is
 * mined and again once it is confirmed (`confirmations` blocks on top of it). If a reorg drops a
 * mined access before it is confirmed, a `removed` notice follows and the chain is read again from
 * the fork.
 *
 * Reads the chain directly (no index needed), polling for new blocks; one `eth_getLogs` per poll
 * with the subject/accessor as topic filters, headers in one batch.
 *
 * @example
 * ```ts
 * import { watch } from "medledger/indexer";
 * const controller = new AbortController();
 * for await (const notice of watch({ rpc: url, deployment, subject, signal: controller.signal })) {
 *   console.log(notice.status, notice.access.accessor, notice.access.purpose, notice.access.time);
 * }
 * ```
 */
import { LogDecoder, projectEvent } from "./events.js";
import type { DecodedEvent, Deployment } from "./events.js";
import { parseAccount, parseId, toAccess } from "./queries.js";
import type { AccessEntry, Row } from "./queries.js";
import { ChainReader, httpRpc } from "./rpc.js";
import type { JsonRpc } from "./rpc.js";
import { columnsOf } from "./schema.js";

export interface WatchOptions {
  rpc: JsonRpc | string;
  deployment: Deployment;
  /** Only accesses to this subject's records. */
  subject?: string;
  /** Only accesses by this account. */
  accessor?: string;
  /** Blocks on top of an access before it is confirmed (default 1; 0: at once). */
  confirmations?: number;
  /** Start after this block (default: the head when watching starts: only new accesses). */
  afterBlock?: number;
  /** How often to poll for new blocks (default 1000 ms). */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/** One notice of the feed. */
export interface AccessNotice {
  status: "mined" | "confirmed" | "removed";
  /** Blocks on top of the access's block when the notice was made. */
  confirmations: number;
  access: AccessEntry;
}

interface Pending {
  access: AccessEntry;
  blockHash: string;
}

/**
 * Streams access notices until `signal` aborts.
 *
 * @example
 * ```ts
 * for await (const n of watch({ rpc: "http://127.0.0.1:8545", deployment, subject, confirmations: 2 })) {
 *   if (n.status === "confirmed") notifyPatient(n.access);
 * }
 * ```
 */
export async function* watch(opts: WatchOptions): AsyncGenerator<AccessNotice> {
  const reader = new ChainReader(typeof opts.rpc === "string" ? httpRpc(opts.rpc) : opts.rpc);
  const decoder = new LogDecoder(opts.deployment.addresses);
  const subject = opts.subject === undefined ? null : parseId("subject", opts.subject);
  const accessor =
    opts.accessor === undefined ? null : `0x${parseAccount("accessor", opts.accessor).slice(2).padStart(64, "0")}`;
  const depth = Math.max(0, opts.confirmations ?? 1);
  const interval = opts.pollIntervalMs ?? 1000;
  const records = decoder.addressOf("records")!;
  const directory = decoder.addressOf("directory")!;
  const accessTopic = decoder.topicsOf("records", ["RecordAccessed"]);
  const recordTopics = decoder.topicsOf("records", ["RecordAnchored", "RecordProven", "RecordImported"]);
  const enrolledTopic = decoder.topicsOf("directory", ["PractitionerEnrolled"]);
  const orgs = new Map<string, number>();
  const categories = new Map<string, number>();
  const start = opts.deployment.startBlock;

  /** Learns practitioners' organizations and records' categories up to `to`. */
  const learn = async (from: number, to: number): Promise<void> => {
    if (to < from) return;
    for (const log of await reader.getLogs({ address: [directory], topics: [enrolledTopic] }, from, to)) {
      const e = decoder.decode(log);
      if (e !== undefined) orgs.set((e.args[0] as string).toLowerCase(), Number(e.args[1]));
    }
    for (const log of await reader.getLogs({ address: [records], topics: [recordTopics, subject] }, from, to)) {
      const e = decoder.decode(log);
      if (e !== undefined)
        categories.set(
          `${(e.args[0] as string).toLowerCase()}/${(e.args[1] as string).toLowerCase()}`,
          Number(e.args[3]),
        );
    }
  };

  let scanned = opts.afterBlock ?? (await reader.blockNumber());
  let learned = scanned;
  await learn(start, learned);
  const pending = new Map<number, Pending>();

  while (opts.signal?.aborted !== true) {
    const head = await reader.blockNumber();
    // A reorg under a pending access: announce its removal and read again from there.
    if (pending.size > 0) {
      const blocks = [...new Set([...pending.values()].map((p) => p.access.blockNumber))];
      const headers = await reader.headers(blocks);
      const forked = blocks.filter(
        (b) => headers.get(b)?.hash !== [...pending.values()].find((p) => p.access.blockNumber === b)!.blockHash,
      );
      if (forked.length > 0) {
        const fork = Math.min(...forked);
        for (const [pos, p] of [...pending].sort((x, y) => x[0] - y[0])) {
          if (p.access.blockNumber < fork) continue;
          pending.delete(pos);
          yield { status: "removed", confirmations: 0, access: p.access };
        }
        scanned = Math.min(scanned, fork - 1);
      }
    }
    if (head > scanned) {
      await learn(learned + 1, head);
      learned = Math.max(learned, head);
      const page = await reader.page(
        { address: [records], topics: [accessTopic, subject, null, accessor] },
        scanned + 1,
        head,
      );
      for (const log of page.logs) {
        const event = decoder.decode(log);
        if (event === undefined) continue;
        const access = entryOf(event, page.headers.get(log.blockNumber)?.timestamp ?? 0, orgs, categories);
        pending.set(event.pos, { access, blockHash: log.blockHash.toLowerCase() });
        yield { status: "mined", confirmations: head - log.blockNumber, access };
      }
      scanned = head;
    }
    for (const [pos, p] of [...pending].sort((x, y) => x[0] - y[0])) {
      if (head - p.access.blockNumber < depth) continue;
      pending.delete(pos);
      yield { status: "confirmed", confirmations: head - p.access.blockNumber, access: p.access };
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, interval);
      function done(): void {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", done);
        resolve();
      }
      opts.signal?.addEventListener("abort", done, { once: true });
    });
  }
}

function entryOf(
  event: DecodedEvent,
  time: number,
  orgs: Map<string, number>,
  categories: Map<string, number>,
): AccessEntry {
  const projected = projectEvent(event, time, (a) => orgs.get(a.toLowerCase()) ?? 0);
  const row: Row = {};
  columnsOf(projected.table).forEach((c, i) => (row[c] = projected.values[i] ?? null));
  const key = `${(event.args[0] as string).toLowerCase()}/${(event.args[1] as string).toLowerCase()}`;
  row.category = categories.get(key) ?? null;
  return toAccess(row);
}
