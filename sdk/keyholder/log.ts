/**
 * The keyholder's hash-chained release log: every release and refusal (and deposits, erasures,
 * resharing, anchoring ticks and padding), each entry chained to the previous head:
 *
 * ```
 * head₀ = sha256("medledger/release-log/v1" ‖ chainId (u256) ‖ keyholderRegistry (20) ‖ keyholderId (u32))
 * headₙ = sha256(headₙ₋₁ ‖ sha256(UTF-8(canonical JSON of entry n)))
 * ```
 *
 * Canonical JSON: keys sorted, no whitespace. The head is anchored on chain at a fixed cadence
 * (`KeyholderRegistry.anchorReleaseLog`); {@link auditReleaseLog} checks a log against its anchors
 * and the access events.
 *
 * @example
 * ```ts
 * import { auditReleaseLog } from "medledger/keyholder";
 * const report = await auditReleaseLog({ genesis, rows, anchors, hasAccess });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { ascii, concat, fromHex, toHex, u256BE, u32BE } from "../crypto/bytes.js";
import type { Hex } from "../types.js";
import type { DurableWriter, KeyholderStore, LogRow } from "./store/sqlite.js";

export type LogKind = "release" | "refusal" | "deposit" | "erase" | "retire" | "reshare" | "tick" | "pad";

/** One log entry (fields absent when they do not apply). */
export interface LogEntry {
  seq: number;
  at: number;
  kind: LogKind;
  reader?: string;
  subject?: string;
  recordId?: string;
  accessTx?: string;
  nonce?: string;
  code?: string;
  epoch?: string;
}

export function canonicalJson(value: Record<string, unknown>): string {
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(",")}}`;
}

export function genesisHead(chainId: bigint, keyholderRegistry: string, keyholderId: number): Hex {
  return toHex(
    sha256(
      concat(
        ascii("medledger/release-log/v1"),
        u256BE(chainId),
        fromHex(keyholderRegistry, "keyholderRegistry", 20),
        u32BE(keyholderId),
      ),
    ),
  ) as Hex;
}

export function nextHead(previous: Hex, entryJson: string): Hex {
  return toHex(sha256(concat(fromHex(previous, "head", 32), sha256(new TextEncoder().encode(entryJson))))) as Hex;
}

/** The in-memory tip of a store's log; appends go through the store's group commit. */
export class ReleaseLog {
  #seq: number;
  #head: Hex;
  readonly genesis: Hex;
  readonly #store: KeyholderStore;

  constructor(store: KeyholderStore, genesis: Hex) {
    this.#store = store;
    this.genesis = genesis;
    const last = store.lastLog();
    this.#seq = last?.seq ?? 0;
    this.#head = last?.head ?? genesis;
  }

  get seq(): number {
    return this.#seq;
  }

  get head(): Hex {
    return this.#head;
  }

  /**
   * Reserves the next entry and returns the write that persists it: pass it to `store.commit`
   * with any other write that must be durable together (a nonce).
   */
  prepare(entry: Omit<LogEntry, "seq" | "at">, at = Date.now()): (w: DurableWriter) => void {
    const full: LogEntry = { ...entry, seq: this.#seq + 1, at };
    const json = canonicalJson(full as unknown as Record<string, unknown>);
    const head = nextHead(this.#head, json);
    this.#seq = full.seq;
    this.#head = head;
    const row: LogRow = { seq: full.seq, at, kind: full.kind, entry: json, head };
    return (w) => w.insertLog(row);
  }

  /** Appends one entry durably. */
  append(entry: Omit<LogEntry, "seq" | "at">): Promise<void> {
    return this.#store.commit([this.prepare(entry)]);
  }
}

/** What {@link auditReleaseLog} found. */
export interface AuditReport {
  ok: boolean;
  entries: number;
  releases: number;
  refusals: number;
  /** Sequence numbers where the recomputed chain departs from the stored heads or the sequence skips. */
  brokenAt: number[];
  /** Anchors whose head differs from the recomputed head at their sequence (a deleted or altered entry). */
  anchorMismatches: { seq: number; anchored: Hex; recomputed: Hex | undefined }[];
  /** Releases whose transaction holds no matching access event. */
  releasesWithoutAccess: number[];
  /** Gaps between consecutive anchors longer than the allowed cadence (a silent keyholder). */
  silentPeriods: { after: number; seconds: number }[];
}

/**
 * Checks a keyholder's log rows (from `POST /v1/log/entries`) against its on-chain anchors and the
 * access events. `hasAccess` answers whether transaction `accessTx` logged `reader`'s access to
 * (subject, recordId) on the deployment's RecordRegistry.
 */
export async function auditReleaseLog(p: {
  genesis: Hex;
  rows: readonly LogRow[];
  anchors: readonly { seq: number; head: Hex; at?: number }[];
  hasAccess: (entry: LogEntry) => Promise<boolean>;
  /** The expected anchoring cadence; a gap longer than 2× is reported. */
  anchorIntervalSeconds?: number;
}): Promise<AuditReport> {
  const report: AuditReport = {
    ok: true,
    entries: p.rows.length,
    releases: 0,
    refusals: 0,
    brokenAt: [],
    anchorMismatches: [],
    releasesWithoutAccess: [],
    silentPeriods: [],
  };
  const heads = new Map<number, Hex>();
  let head = p.genesis;
  let expected = 1;
  for (const row of [...p.rows].sort((a, b) => a.seq - b.seq)) {
    if (row.seq !== expected) report.brokenAt.push(row.seq);
    expected = row.seq + 1;
    head = nextHead(head, row.entry);
    if (head !== row.head) report.brokenAt.push(row.seq);
    heads.set(row.seq, head);
    const entry = JSON.parse(row.entry) as LogEntry;
    if (canonicalJson(entry as unknown as Record<string, unknown>) !== row.entry || entry.seq !== row.seq) {
      report.brokenAt.push(row.seq);
    }
    if (entry.kind === "refusal") report.refusals++;
    if (entry.kind === "release") {
      report.releases++;
      if (!(await p.hasAccess(entry))) report.releasesWithoutAccess.push(row.seq);
    }
  }
  const anchors = [...p.anchors].sort((a, b) => a.seq - b.seq);
  for (const a of anchors) {
    const recomputed = heads.get(a.seq);
    if (recomputed?.toLowerCase() !== a.head.toLowerCase()) {
      report.anchorMismatches.push({ seq: a.seq, anchored: a.head, recomputed });
    }
  }
  if (p.anchorIntervalSeconds !== undefined) {
    for (let i = 1; i < anchors.length; i++) {
      const gap = (anchors[i]!.at ?? 0) - (anchors[i - 1]!.at ?? 0);
      if (gap > 2 * p.anchorIntervalSeconds) report.silentPeriods.push({ after: anchors[i - 1]!.seq, seconds: gap });
    }
  }
  report.ok =
    report.brokenAt.length === 0 &&
    report.anchorMismatches.length === 0 &&
    report.releasesWithoutAccess.length === 0 &&
    report.silentPeriods.length === 0;
  return report;
}
