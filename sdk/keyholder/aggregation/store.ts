/**
 * An aggregation server's durable state in SQLite (`node:sqlite`): the sealed shares custodians
 * delivered (kept sealed to the server's own key at rest, one row per distinct commitment, so a
 * later delivery never displaces the committed one) and, per run, the server's sum-share (sealed to
 * its own key) with its commitment and publication. The sum-share is written before it is
 * published, so a retry republishes the same one: noise is drawn once per run, never again.
 *
 * @example
 * ```ts
 * import { openAggregationStore } from "medledger/keyholder";
 * const store = openAggregationStore("/var/lib/medledger-keyholder/aggregation.db");
 * ```
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

import type { Hex } from "../../types.js";

export interface StoredShare {
  studyId: Hex;
  runId: number;
  custodianOrg: number;
  commitment: Hex;
  slot: Uint8Array;
  receivedAt: number;
}

export interface StoredSum {
  studyId: Hex;
  runId: number;
  commitment: Hex;
  contributorsDigest: Hex;
  contributors: number[];
  /** The sum-share, sealed to this server's own key (label at-rest). */
  slot: Uint8Array;
  txHash: Hex | undefined;
  createdAt: number;
}

export interface AggregationStore {
  putShare(share: StoredShare): void;
  /** The delivered share of `custodianOrg` with `commitment`, if any. */
  share(studyId: Hex, runId: number, custodianOrg: number, commitment: Hex): StoredShare | undefined;
  /** Custodians with at least one delivered share for the run. */
  custodiansWithShares(studyId: Hex, runId: number): number[];
  putSum(sum: StoredSum): void;
  sum(studyId: Hex, runId: number): StoredSum | undefined;
  setPublished(studyId: Hex, runId: number, txHash: Hex): void;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agg_shares (
  study TEXT NOT NULL, run INTEGER NOT NULL, custodian INTEGER NOT NULL, commitment TEXT NOT NULL,
  slot BLOB NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (study, run, custodian, commitment)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_sums (
  study TEXT NOT NULL, run INTEGER NOT NULL, commitment TEXT NOT NULL, contributors_digest TEXT NOT NULL,
  contributors TEXT NOT NULL, slot BLOB NOT NULL, tx_hash TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (study, run)) WITHOUT ROWID;
`;

/** Opens (creating if needed) an aggregation store; `:memory:` for tests. */
export function openAggregationStore(path: string): AggregationStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;");
  db.exec(SCHEMA);
  const insertShare = db.prepare(
    "INSERT OR REPLACE INTO agg_shares (study, run, custodian, commitment, slot, received_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const selectShare = db.prepare(
    "SELECT * FROM agg_shares WHERE study = ? AND run = ? AND custodian = ? AND commitment = ?",
  );
  const selectCustodians = db.prepare(
    "SELECT DISTINCT custodian FROM agg_shares WHERE study = ? AND run = ? ORDER BY custodian",
  );
  const insertSum = db.prepare(
    "INSERT INTO agg_sums (study, run, commitment, contributors_digest, contributors, slot, tx_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const selectSum = db.prepare("SELECT * FROM agg_sums WHERE study = ? AND run = ?");
  const updatePublished = db.prepare("UPDATE agg_sums SET tx_hash = ? WHERE study = ? AND run = ?");
  const key = (h: Hex) => h.toLowerCase();
  return {
    putShare(s) {
      insertShare.run(key(s.studyId), s.runId, s.custodianOrg, key(s.commitment), s.slot, s.receivedAt);
    },
    share(studyId, runId, custodianOrg, commitment) {
      const row = selectShare.get(key(studyId), runId, custodianOrg, key(commitment)) as
        Record<string, unknown> | undefined;
      if (row === undefined) return undefined;
      return {
        studyId,
        runId,
        custodianOrg,
        commitment: row.commitment as Hex,
        slot: new Uint8Array(row.slot as Uint8Array),
        receivedAt: Number(row.received_at),
      };
    },
    custodiansWithShares(studyId, runId) {
      return (selectCustodians.all(key(studyId), runId) as { custodian: number }[]).map((r) => Number(r.custodian));
    },
    putSum(s) {
      insertSum.run(
        key(s.studyId),
        s.runId,
        key(s.commitment),
        key(s.contributorsDigest),
        JSON.stringify(s.contributors),
        s.slot,
        s.txHash ?? null,
        s.createdAt,
      );
    },
    sum(studyId, runId) {
      const row = selectSum.get(key(studyId), runId) as Record<string, unknown> | undefined;
      if (row === undefined) return undefined;
      return {
        studyId,
        runId,
        commitment: row.commitment as Hex,
        contributorsDigest: row.contributors_digest as Hex,
        contributors: JSON.parse(row.contributors as string) as number[],
        slot: new Uint8Array(row.slot as Uint8Array),
        txHash: (row.tx_hash as Hex | null) ?? undefined,
        createdAt: Number(row.created_at),
      };
    },
    setPublished(studyId, runId, txHash) {
      updatePublished.run(txHash, key(studyId), runId);
    },
    close() {
      db.close();
    },
  };
}
