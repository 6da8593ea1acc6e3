/**
 * A keyholder's durable state in SQLite (`node:sqlite`, no native build): shares (still sealed to
 * the keyholder's own key), manifests, used nonces, the hash-chained log, log anchors and small
 * metadata. WAL with `synchronous = FULL`, `secure_delete = ON` (deleted shares are overwritten in
 * the file). Writes that must be durable before an answer (a nonce and its log entry) are
 * group-committed: concurrent requests' writes share one transaction, and each caller's promise
 * resolves after that transaction commits.
 *
 * @example
 * ```ts
 * import { openKeyholderStore } from "medledger/keyholder";
 * const store = openKeyholderStore("/var/lib/medledger-keyholder/keyholder.db");
 * ```
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { StatementSync } from "node:sqlite";

import { StorageError } from "../../errors.js";
import type { Hex } from "../../types.js";

export type ShareState = "pending" | "active";

export interface StoredShare {
  subject: Hex;
  recordId: Hex;
  epoch: string;
  x: number;
  /** Key version of this keyholder's X25519 key the slot is sealed to. */
  keyVersion: number;
  slot: Uint8Array;
  commitment: Hex;
  state: ShareState;
  createdAt: number;
}

function openingOf(row: Row): StoredOpening {
  return {
    row: Number(row.row),
    kind: Number(row.kind),
    subject: row.subject as Hex,
    id: row.id as Hex,
    sealed: row.sealed as Hex,
    verified: Number(row.verified) === 1,
    createdAt: Number(row.created_at),
  };
}

export interface LogRow {
  seq: number;
  at: number;
  kind: string;
  entry: string;
  head: Hex;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shares (
  subject TEXT NOT NULL, record_id TEXT NOT NULL, epoch TEXT NOT NULL, x INTEGER NOT NULL,
  key_version INTEGER NOT NULL, slot BLOB NOT NULL, commitment TEXT NOT NULL, state TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (subject, record_id, epoch)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shares_pending ON shares (state, created_at);
CREATE INDEX IF NOT EXISTS shares_epoch ON shares (epoch);
CREATE TABLE IF NOT EXISTS manifests (
  subject TEXT NOT NULL, record_id TEXT NOT NULL, epoch TEXT NOT NULL, writer TEXT NOT NULL,
  json TEXT NOT NULL, PRIMARY KEY (subject, record_id, epoch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nonces (
  reader TEXT NOT NULL, nonce TEXT NOT NULL, expiry INTEGER NOT NULL, PRIMARY KEY (reader, nonce)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expiry);
CREATE TABLE IF NOT EXISTS log (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, entry TEXT NOT NULL, head TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (
  seq INTEGER PRIMARY KEY, head TEXT NOT NULL, tx_hash TEXT, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS openings (
  row INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, subject TEXT NOT NULL, id TEXT NOT NULL,
  sealed TEXT NOT NULL, verified INTEGER NOT NULL, created_at INTEGER NOT NULL, UNIQUE (kind, subject, id));
`;

type Row = Record<string, unknown>;

function shareOf(row: Row): StoredShare {
  return {
    subject: row.subject as Hex,
    recordId: row.record_id as Hex,
    epoch: row.epoch as string,
    x: Number(row.x),
    keyVersion: Number(row.key_version),
    slot: new Uint8Array(row.slot as Uint8Array),
    commitment: row.commitment as Hex,
    state: row.state as ShareState,
    createdAt: Number(row.created_at),
  };
}

/** An opening at rest: its payload sealed under the keyholder's vault key (vault.ts). */
export interface StoredOpening {
  row: number;
  /** 1: a record's labels (id = recordId); 2: a consent's sealed terms (id = consentId). */
  kind: number;
  subject: Hex;
  id: Hex;
  sealed: Hex;
  /** Checked against the commitment on chain (a label opening deposited before its anchor is not yet). */
  verified: boolean;
  createdAt: number;
}

export interface KeyholderStore {
  readonly path: string;
  isOpen(): boolean;
  /** The newest share of a record (active before pending), if any. */
  latestShare(subject: Hex, recordId: Hex): StoredShare | undefined;
  shareAt(subject: Hex, recordId: Hex, epoch: string): StoredShare | undefined;
  putShare(share: StoredShare): void;
  activate(subject: Hex, recordId: Hex, epoch: string): void;
  manifest(subject: Hex, recordId: Hex, epoch: string): { writer: string; json: string } | undefined;
  putManifest(subject: Hex, recordId: Hex, epoch: string, writer: string, json: string): void;
  opening(kind: number, subject: Hex, id: Hex): StoredOpening | undefined;
  /** Inserts or replaces the opening of (kind, subject, id). */
  putOpening(o: Omit<StoredOpening, "row">): void;
  markOpeningVerified(kind: number, subject: Hex, id: Hex): void;
  openingsRange(fromRow: number, limit: number): StoredOpening[];
  countOpenings(): number;
  /** Deletes every share and manifest of a record (all epochs) and its label opening; returns how many shares. */
  deleteRecord(subject: Hex, recordId: Hex): number;
  /** Deletes the shares and manifests of epochs other than `keep`. */
  deleteOtherEpochs(subject: Hex, recordId: Hex, keep: string): number;
  pendingOlderThan(createdBefore: number, limit: number): StoredShare[];
  /** Active shares of records whose newest epoch is below `epoch` (resharing work list). */
  sharesBelowEpoch(epoch: string, limit: number): StoredShare[];
  countShares(): number;
  nonceUsed(reader: string, nonce: Hex): boolean;
  pruneNonces(expiredBefore: number): number;
  lastLog(): LogRow | undefined;
  logRange(fromSeq: number, limit: number): LogRow[];
  anchors(): { seq: number; head: Hex; txHash: string | null; at: number }[];
  putAnchor(seq: number, head: Hex, txHash: string | null, at: number): void;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Queues writes for the next group commit; resolves once they are durable. */
  commit(writes: ((db: DurableWriter) => void)[]): Promise<void>;
  close(): void;
}

/** What a group-committed write may do. */
export interface DurableWriter {
  insertNonce(reader: string, nonce: Hex, expiry: number): void;
  insertLog(row: LogRow): void;
}

export function openKeyholderStore(path: string): KeyholderStore {
  let db: DatabaseSync;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new DatabaseSync(path);
    db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000;",
    );
    db.exec(SCHEMA);
  } catch (cause) {
    throw new StorageError(`Could not open the keyholder database ${path}`, { cause });
  }
  let open = true;
  const cache = new Map<string, StatementSync>();
  const st = (sql: string): StatementSync => {
    let s = cache.get(sql);
    if (s === undefined) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };

  const writer: DurableWriter = {
    insertNonce: (reader, nonce, expiry) =>
      void st("INSERT INTO nonces (reader, nonce, expiry) VALUES (?, ?, ?)").run(reader.toLowerCase(), nonce, expiry),
    insertLog: (row) =>
      void st("INSERT INTO log (seq, at, kind, entry, head) VALUES (?, ?, ?, ?, ?)").run(
        row.seq,
        row.at,
        row.kind,
        row.entry,
        row.head,
      ),
  };

  // Group commit: writes queued in one turn of the event loop go into one transaction.
  let queue: { writes: ((w: DurableWriter) => void)[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      db.exec("BEGIN IMMEDIATE");
      const failed = new Set<number>();
      batch.forEach((item, i) => {
        try {
          db.exec("SAVEPOINT w");
          for (const write of item.writes) write(writer);
          db.exec("RELEASE w");
        } catch (err) {
          db.exec("ROLLBACK TO w");
          db.exec("RELEASE w");
          failed.add(i);
          item.reject(new StorageError("A keyholder write failed", { cause: err }));
        }
      });
      db.exec("COMMIT");
      batch.forEach((item, i) => failed.has(i) || item.resolve());
    } catch (err) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      for (const item of batch) item.reject(new StorageError("The keyholder database commit failed", { cause: err }));
    }
  };

  return {
    path,
    isOpen: () => open,
    latestShare(subject, recordId) {
      const row = st(
        "SELECT * FROM shares WHERE subject = ? AND record_id = ? ORDER BY state = 'active' DESC, CAST(epoch AS INTEGER) DESC LIMIT 1",
      ).get(subject, recordId) as Row | undefined;
      return row === undefined ? undefined : shareOf(row);
    },
    shareAt(subject, recordId, epoch) {
      const row = st("SELECT * FROM shares WHERE subject = ? AND record_id = ? AND epoch = ?").get(
        subject,
        recordId,
        epoch,
      ) as Row | undefined;
      return row === undefined ? undefined : shareOf(row);
    },
    putShare(s) {
      st(
        `INSERT INTO shares (subject, record_id, epoch, x, key_version, slot, commitment, state, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subject, record_id, epoch) DO UPDATE SET x = excluded.x, key_version = excluded.key_version,
           slot = excluded.slot, commitment = excluded.commitment, state = excluded.state, created_at = excluded.created_at`,
      ).run(s.subject, s.recordId, s.epoch, s.x, s.keyVersion, s.slot, s.commitment, s.state, s.createdAt);
    },
    activate(subject, recordId, epoch) {
      st("UPDATE shares SET state = 'active' WHERE subject = ? AND record_id = ? AND epoch = ?").run(
        subject,
        recordId,
        epoch,
      );
    },
    manifest(subject, recordId, epoch) {
      const row = st("SELECT writer, json FROM manifests WHERE subject = ? AND record_id = ? AND epoch = ?").get(
        subject,
        recordId,
        epoch,
      ) as Row | undefined;
      return row === undefined ? undefined : { writer: row.writer as string, json: row.json as string };
    },
    putManifest(subject, recordId, epoch, writerAddress, json) {
      st(
        `INSERT INTO manifests (subject, record_id, epoch, writer, json) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (subject, record_id, epoch) DO UPDATE SET writer = excluded.writer, json = excluded.json`,
      ).run(subject, recordId, epoch, writerAddress, json);
    },
    opening(kind, subject, id) {
      const row = st("SELECT * FROM openings WHERE kind = ? AND subject = ? AND id = ?").get(kind, subject, id) as
        Row | undefined;
      return row === undefined ? undefined : openingOf(row);
    },
    putOpening(o) {
      st(
        `INSERT INTO openings (kind, subject, id, sealed, verified, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, subject, id) DO UPDATE SET sealed = excluded.sealed, verified = excluded.verified,
           created_at = excluded.created_at`,
      ).run(o.kind, o.subject, o.id, o.sealed, o.verified ? 1 : 0, o.createdAt);
    },
    markOpeningVerified(kind, subject, id) {
      st("UPDATE openings SET verified = 1 WHERE kind = ? AND subject = ? AND id = ?").run(kind, subject, id);
    },
    openingsRange: (fromRow, limit) =>
      (st("SELECT * FROM openings WHERE row >= ? ORDER BY row LIMIT ?").all(fromRow, limit) as Row[]).map(openingOf),
    countOpenings: () => Number((st("SELECT COUNT(*) AS n FROM openings").get() as Row).n),
    deleteRecord(subject, recordId) {
      const n = Number(st("DELETE FROM shares WHERE subject = ? AND record_id = ?").run(subject, recordId).changes);
      st("DELETE FROM manifests WHERE subject = ? AND record_id = ?").run(subject, recordId);
      st("DELETE FROM openings WHERE kind = 1 AND subject = ? AND id = ?").run(subject, recordId);
      return n;
    },
    deleteOtherEpochs(subject, recordId, keep) {
      const n = Number(
        st("DELETE FROM shares WHERE subject = ? AND record_id = ? AND epoch <> ?").run(subject, recordId, keep)
          .changes,
      );
      st("DELETE FROM manifests WHERE subject = ? AND record_id = ? AND epoch <> ?").run(subject, recordId, keep);
      return n;
    },
    pendingOlderThan(createdBefore, limit) {
      return (
        st("SELECT * FROM shares WHERE state = 'pending' AND created_at < ? LIMIT ?").all(createdBefore, limit) as Row[]
      ).map(shareOf);
    },
    sharesBelowEpoch(epoch, limit) {
      return (
        st(
          `SELECT s.* FROM shares s WHERE s.state = 'active' AND CAST(s.epoch AS INTEGER) < CAST(? AS INTEGER)
           AND NOT EXISTS (SELECT 1 FROM shares t WHERE t.subject = s.subject AND t.record_id = s.record_id
                           AND CAST(t.epoch AS INTEGER) >= CAST(? AS INTEGER))
           LIMIT ?`,
        ).all(epoch, epoch, limit) as Row[]
      ).map(shareOf);
    },
    countShares: () => Number((st("SELECT COUNT(*) AS n FROM shares").get() as Row).n),
    nonceUsed: (reader, nonce) =>
      st("SELECT 1 FROM nonces WHERE reader = ? AND nonce = ?").get(reader.toLowerCase(), nonce) !== undefined,
    pruneNonces: (expiredBefore) => Number(st("DELETE FROM nonces WHERE expiry < ?").run(expiredBefore).changes),
    lastLog() {
      const row = st("SELECT * FROM log ORDER BY seq DESC LIMIT 1").get() as Row | undefined;
      return row === undefined ? undefined : (row as unknown as LogRow);
    },
    logRange: (fromSeq, limit) =>
      (st("SELECT * FROM log WHERE seq >= ? ORDER BY seq LIMIT ?").all(fromSeq, limit) as Row[]).map((r) => ({
        seq: Number(r.seq),
        at: Number(r.at),
        kind: r.kind as string,
        entry: r.entry as string,
        head: r.head as Hex,
      })),
    anchors: () =>
      (st("SELECT * FROM anchors ORDER BY seq").all() as Row[]).map((r) => ({
        seq: Number(r.seq),
        head: r.head as Hex,
        txHash: (r.tx_hash as string | null) ?? null,
        at: Number(r.at),
      })),
    putAnchor: (seq, head, txHash, at) =>
      void st("INSERT OR REPLACE INTO anchors (seq, head, tx_hash, at) VALUES (?, ?, ?, ?)").run(seq, head, txHash, at),
    getMeta: (key) =>
      (st("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined)?.value as string | undefined,
    setMeta: (key, value) => void st("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value),
    commit(writes) {
      if (!open) return Promise.reject(new StorageError("The keyholder database is closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ writes, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    close() {
      if (!open) return;
      flush();
      open = false;
      db.close();
    },
  };
}
