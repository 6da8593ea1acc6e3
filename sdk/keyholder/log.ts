/**
 * The keyholder's keyed, hash-chained release log: every release and refusal (with the policy
 * token it issued or checked), deposits, openings accepted, auditor exports, erasures, resharing,
 * anchoring ticks and padding, each entry chained to the previous head with an HMAC under the
 * keyholder's log MAC key (vault.ts):
 *
 * ```
 * head₀ = HMAC-SHA256(macKey, "medledger/release-log/v2" ‖ chainId (u256) ‖ keyholderRegistry (20) ‖ keyholderId (u32))
 * headₙ = HMAC-SHA256(macKey, headₙ₋₁ ‖ sha256(UTF-8(canonical JSON of entry n)))
 * row   = { seq, at, kind: "sealed", entry: sealLogEntry(entryKey, seq, JSON), head }
 * ```
 *
 * Canonical JSON: keys sorted, no whitespace. The head is anchored on chain at a fixed cadence
 * (`KeyholderRegistry.anchorReleaseLog`): without the key an anchored head says nothing about the
 * entries (no guess can be tested), and entries are sealed at rest, so only holders of the audit
 * key — the keyholder and the auditors it exported to — can read or verify them.
 * {@link auditReleaseLog} checks a log against its anchors, the access events and the policy tokens.
 *
 * @example
 * ```ts
 * import { auditReleaseLog } from "medledger/keyholder";
 * const report = await auditReleaseLog({ auditKey, keyholderId, chainId, keyholderRegistry, rows, anchors, hasAccess });
 * ```
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { TypedDataDomain } from "ethers";
import { verifyTypedData } from "ethers";

import { ascii, concat, fromHex, toHex, u256BE, u32BE } from "../crypto/bytes.js";
import type { Hex } from "../types.js";
import { POLICY_TOKEN_TYPES } from "./protocol.js";
import type { DurableWriter, KeyholderStore, LogRow } from "./store/sqlite.js";
import { deriveAuditKeys, openLogEntry, sealLogEntry } from "./vault.js";
import type { AuditKeys } from "./vault.js";

export type LogKind =
  "release" | "refusal" | "deposit" | "opening" | "export" | "erase" | "retire" | "reshare" | "tick" | "pad";

/** The policy token a release carried (non-custodian) or issued (custodian). */
export interface LoggedToken {
  keyholderId: number;
  expiry: number;
  signature: string;
}

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
  /** A consent an opening belongs to. */
  consentId?: string;
  /** The sealed rule's reason for a SEALED_DENIED refusal. */
  detail?: string;
  /** The latest block the release or refusal was decided at. */
  block?: number;
  token?: LoggedToken;
}

export function canonicalJson(value: Record<string, unknown>): string {
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(",")}}`;
}

export function genesisHead(macKey: Uint8Array, chainId: bigint, keyholderRegistry: string, keyholderId: number): Hex {
  return toHex(
    hmac(
      sha256,
      macKey,
      concat(
        ascii("medledger/release-log/v2"),
        u256BE(chainId),
        fromHex(keyholderRegistry, "keyholderRegistry", 20),
        u32BE(keyholderId),
      ),
    ),
  ) as Hex;
}

export function nextHead(macKey: Uint8Array, previous: Hex, entryJson: string): Hex {
  return toHex(
    hmac(sha256, macKey, concat(fromHex(previous, "head", 32), sha256(new TextEncoder().encode(entryJson)))),
  ) as Hex;
}

/** The in-memory tip of a store's log; appends go through the store's group commit. */
export class ReleaseLog {
  #seq: number;
  #head: Hex;
  readonly genesis: Hex;
  readonly #store: KeyholderStore;
  readonly #keys: AuditKeys;

  constructor(store: KeyholderStore, keys: AuditKeys, genesis: Hex) {
    this.#store = store;
    this.#keys = keys;
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
    const head = nextHead(this.#keys.macKey, this.#head, json);
    this.#seq = full.seq;
    this.#head = head;
    const row: LogRow = {
      seq: full.seq,
      at,
      kind: "sealed",
      entry: sealLogEntry(this.#keys.entryKey, full.seq, json),
      head,
    };
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
  /** Sequence numbers where the recomputed chain departs from the stored heads, the sequence skips, or an entry does not open. */
  brokenAt: number[];
  /** Anchors whose head differs from the recomputed head at their sequence (a deleted or altered entry). */
  anchorMismatches: { seq: number; anchored: Hex; recomputed: Hex | undefined }[];
  /** Releases whose transaction holds no matching access event. */
  releasesWithoutAccess: number[];
  /** Releases that carry no policy token. */
  releasesWithoutToken: number[];
  /** Releases whose token is not the record's custodian keyholder's, does not match, or had expired. */
  invalidTokens: number[];
  /** Gaps between anchors (and from the last anchor to `now`) longer than twice the cadence (a silent keyholder). */
  silentPeriods: { after: number; seconds: number }[];
}

/** Decrypts exported log rows with the keyholder's audit key; undefined for a row that does not open. */
export function openLogRows(auditKey: Uint8Array, rows: readonly LogRow[]): (LogEntry & { json: string })[] {
  const { entryKey } = deriveAuditKeys(auditKey);
  const out: (LogEntry & { json: string })[] = [];
  for (const row of rows) {
    try {
      const json = openLogEntry(entryKey, row.seq, row.entry);
      out.push({ ...(JSON.parse(json) as LogEntry), json });
    } catch {
      // reported by auditReleaseLog as a broken row
    }
  }
  return out;
}

/**
 * Checks a keyholder's log rows (from `POST /v1/log/entries`) with its audit key against its
 * on-chain anchors, the access events and the policy tokens. `hasAccess` answers whether
 * transaction `accessTx` logged `reader`'s access to (subject, recordId) on the deployment's
 * RecordRegistry. With `tokens`, every release must carry a token signed by the registered account
 * of the record's custodian keyholder, matching the release and not expired when it was used.
 */
export async function auditReleaseLog(p: {
  auditKey: Uint8Array;
  chainId: bigint;
  keyholderRegistry: string;
  keyholderId: number;
  rows: readonly LogRow[];
  anchors: readonly { seq: number; head: Hex; at?: number }[];
  hasAccess: (entry: LogEntry) => Promise<boolean>;
  tokens?: {
    domain: TypedDataDomain;
    /** The record's custodian keyholder id (per the custodian rule). */
    custodianOf: (entry: LogEntry) => Promise<number | undefined>;
    /** A keyholder's registered signing account. */
    accountOf: (keyholderId: number) => Promise<string | undefined>;
  };
  /** The expected anchoring cadence; a gap longer than 2× is reported. */
  anchorIntervalSeconds?: number;
  /** Unix seconds (the latest block's time): the last anchor must not be older than 2× the cadence. */
  now?: number;
}): Promise<AuditReport> {
  const keys = deriveAuditKeys(p.auditKey);
  const report: AuditReport = {
    ok: true,
    entries: p.rows.length,
    releases: 0,
    refusals: 0,
    brokenAt: [],
    anchorMismatches: [],
    releasesWithoutAccess: [],
    releasesWithoutToken: [],
    invalidTokens: [],
    silentPeriods: [],
  };
  const heads = new Map<number, Hex>();
  let head = genesisHead(keys.macKey, p.chainId, p.keyholderRegistry, p.keyholderId);
  let expected = 1;
  for (const row of [...p.rows].sort((a, b) => a.seq - b.seq)) {
    if (row.seq !== expected) report.brokenAt.push(row.seq);
    expected = row.seq + 1;
    let json: string;
    try {
      json = openLogEntry(keys.entryKey, row.seq, row.entry);
    } catch {
      report.brokenAt.push(row.seq);
      continue;
    }
    head = nextHead(keys.macKey, head, json);
    if (head !== row.head) report.brokenAt.push(row.seq);
    heads.set(row.seq, head);
    const entry = JSON.parse(json) as LogEntry;
    if (canonicalJson(entry as unknown as Record<string, unknown>) !== json || entry.seq !== row.seq) {
      report.brokenAt.push(row.seq);
    }
    if (entry.kind === "refusal") report.refusals++;
    if (entry.kind === "release") {
      report.releases++;
      if (!(await p.hasAccess(entry))) report.releasesWithoutAccess.push(row.seq);
      if (p.tokens !== undefined) {
        if (entry.token === undefined) report.releasesWithoutToken.push(row.seq);
        else if (!(await tokenValid(entry, entry.token, p.tokens))) report.invalidTokens.push(row.seq);
      }
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
    const limit = 2 * p.anchorIntervalSeconds;
    for (let i = 1; i < anchors.length; i++) {
      const gap = (anchors[i]!.at ?? 0) - (anchors[i - 1]!.at ?? 0);
      if (gap > limit) report.silentPeriods.push({ after: anchors[i - 1]!.seq, seconds: gap });
    }
    if (p.now !== undefined) {
      const last = anchors.at(-1);
      const gap = p.now - (last?.at ?? 0);
      if (last === undefined || gap > limit) report.silentPeriods.push({ after: last?.seq ?? 0, seconds: gap });
    }
  }
  report.ok =
    report.brokenAt.length === 0 &&
    report.anchorMismatches.length === 0 &&
    report.releasesWithoutAccess.length === 0 &&
    report.releasesWithoutToken.length === 0 &&
    report.invalidTokens.length === 0 &&
    report.silentPeriods.length === 0;
  return report;
}

async function tokenValid(
  entry: LogEntry,
  token: LoggedToken,
  t: NonNullable<Parameters<typeof auditReleaseLog>[0]["tokens"]>,
): Promise<boolean> {
  const [custodian, account] = await Promise.all([t.custodianOf(entry), t.accountOf(token.keyholderId)]);
  if (custodian !== token.keyholderId || account === undefined) return false;
  if (token.expiry * 1000 < entry.at) return false;
  try {
    const signer = verifyTypedData(
      t.domain,
      POLICY_TOKEN_TYPES,
      {
        keyholderId: token.keyholderId,
        reader: entry.reader,
        subject: entry.subject,
        recordId: entry.recordId,
        accessTx: entry.accessTx,
        expiry: token.expiry,
      },
      token.signature,
    );
    return signer.toLowerCase() === account.toLowerCase();
  } catch {
    return false;
  }
}
