/**
 * The index schema: defined once, rendered as DDL for SQLite or PostgreSQL.
 *
 * Every table is an append-only projection of chain events: one row per log, keyed by its
 * position `pos = blockNumber * 2^20 + logIndex` (unique, and increasing in chain order, so it is
 * also the time order). Nothing is ever updated in place: a revocation, an erasure or a review is
 * a row of its own, and state ("in force at T", "superseded", "pending") is derived at query time.
 * This makes the three hard properties simple:
 * - resuming after a crash: the rows of a page and the cursor commit in one transaction;
 * - a reorg: delete every row with `pos` past the fork point;
 * - `index check`: recompute the rows of any block range from the chain and compare.
 *
 * Byte strings (ids, hashes, addresses) are stored as raw bytes (BLOB / BYTEA), not hex text: it
 * halves the size of the accesses table and its indexes.
 *
 * Sealed-label and sealed-terms commitments (`label_commitment`, `sealed_terms`) are stored as the
 * opaque 32-byte values the chain emits; nothing in the index interprets them.
 */
import type { Dialect } from "./store/types.js";

/** The schema version stored in `meta`; a different version means "rebuild the index". */
export const SCHEMA_VERSION = 1;

/** Bits of `pos` given to the log index within its block. */
export const LOG_INDEX_BITS = 20;
const BLOCK_FACTOR = 2 ** LOG_INDEX_BITS;

/** The position of a log: blockNumber * 2^20 + logIndex. */
export function positionOf(blockNumber: number, logIndex: number): number {
  return blockNumber * BLOCK_FACTOR + logIndex;
}
/** The block and log index of a position. */
export function blockOf(pos: number): number {
  return Math.floor(pos / BLOCK_FACTOR);
}
export function logIndexOf(pos: number): number {
  return pos % BLOCK_FACTOR;
}
/** The first position of a block. */
export function firstPosition(blockNumber: number): number {
  return blockNumber * BLOCK_FACTOR;
}

export type ColumnType = "int" | "bytes" | "text";

export interface TableDef {
  /** Columns in insert order; the first is always `pos`. */
  columns: readonly (readonly [name: string, type: ColumnType, nullable?: "null"])[];
  /** Secondary indexes (column lists). */
  indexes: readonly (readonly string[])[];
}

const COMMON = [
  ["pos", "int"],
  ["tx", "bytes"],
] as const;

/** The event tables. Their order is the order `index check` compares them in. */
export const TABLES = {
  /** RecordAccessed. `accessor_org`: the accessor's organization (0 for the subject or a guardian). */
  accesses: {
    columns: [
      ...COMMON,
      ["subject", "bytes"],
      ["record_id", "bytes"],
      ["accessor", "bytes"],
      ["accessor_org", "int"],
      ["purpose", "int"],
      ["basis", "int"],
      ["basis_id", "bytes"],
      ["time", "int"],
    ],
    indexes: [
      ["subject", "pos"],
      ["accessor", "pos"],
      ["accessor_org", "pos"],
      ["record_id", "pos"],
      ["purpose", "pos"],
      ["basis", "pos"],
    ],
  },
  /** ConsentGranted (permits and denies, with the opaque sealed-terms commitment). */
  consents: {
    columns: [
      ...COMMON,
      ["subject", "bytes"],
      ["consent_id", "bytes"],
      ["effect", "int"],
      ["grantee_kind", "int"],
      ["grantee_account", "bytes"],
      ["grantee_org", "int"],
      ["grantee_roles", "int"],
      ["categories", "int"],
      ["purposes", "int"],
      ["actions", "int"],
      ["valid_from", "int"],
      ["valid_until", "int"],
      ["sealed_terms", "bytes"],
      ["granted_by", "bytes"],
      ["by_signature", "int"],
      ["time", "int"],
    ],
    indexes: [["subject", "pos"], ["consent_id"], ["grantee_account", "pos"]],
  },
  /** ConsentRevoked. */
  revocations: {
    columns: [
      ...COMMON,
      ["subject", "bytes"],
      ["consent_id", "bytes"],
      ["revoked_by", "bytes"],
      ["revoked_at", "int"],
      ["by_signature", "int"],
      ["time", "int"],
    ],
    indexes: [["consent_id"], ["subject", "pos"]],
  },
  /**
   * Record versions: RecordAnchored (kind 0), RecordProven (1, `root` set, custodian and pointer
   * from the batch), RecordImported (2, `anchored_at`/`erased_at` from the earlier deployment).
   */
  records: {
    columns: [
      ...COMMON,
      ["kind", "int"],
      ["subject", "bytes"],
      ["record_id", "bytes"],
      ["custodian", "int"],
      ["category", "int"],
      ["digest", "bytes"],
      ["label_commitment", "bytes"],
      ["previous", "bytes"],
      ["pointer", "text"],
      ["anchored_by", "bytes"],
      ["consent_id", "bytes"],
      ["root", "bytes"],
      ["anchored_at", "int"],
      ["erased_at", "int"],
      ["time", "int"],
    ],
    indexes: [["subject", "record_id"], ["subject", "previous"], ["record_id"]],
  },
  /** BatchAnchored. */
  batches: {
    columns: [
      ...COMMON,
      ["subject", "bytes"],
      ["root", "bytes"],
      ["tag", "bytes"],
      ["custodian", "int"],
      ["count", "int"],
      ["categories", "int"],
      ["pointer", "text"],
      ["anchored_by", "bytes"],
      ["time", "int"],
    ],
    indexes: [["subject", "root"], ["tag"]],
  },
  /** RecordErased (tombstones). */
  erasures: {
    columns: [...COMMON, ["subject", "bytes"], ["record_id", "bytes"], ["erased_by", "bytes"], ["time", "int"]],
    indexes: [["subject", "record_id"]],
  },
  /** BreakGlassDeclared. */
  sessions: {
    columns: [
      ...COMMON,
      ["session_id", "int"],
      ["subject", "bytes"],
      ["responder", "bytes"],
      ["org_id", "int"],
      ["purpose", "int"],
      ["reason_code", "int"],
      ["expires_at", "int"],
      ["time", "int"],
    ],
    indexes: [["session_id"], ["subject", "pos"], ["org_id", "pos"]],
  },
  /** BreakGlassReviewed. */
  reviews: {
    columns: [
      ...COMMON,
      ["session_id", "int"],
      ["reviewer", "bytes"],
      ["outcome", "int"],
      ["reviewer_org", "int"],
      ["time", "int"],
    ],
    indexes: [["session_id"]],
  },
  /** PractitionerEnrolled (one organization per practitioner, for ever). */
  practitioners: {
    columns: [
      ...COMMON,
      ["account", "bytes"],
      ["org_id", "int"],
      ["practitioner_id", "int"],
      ["roles", "int"],
      ["credential_valid_until", "int"],
      ["time", "int"],
    ],
    indexes: [["account"], ["org_id"]],
  },
  /** KeyholderRegistry ReleaseLogAnchored: the keyholders' release-log heads. */
  log_anchors: {
    columns: [...COMMON, ["keyholder_id", "int"], ["sequence", "int"], ["head", "bytes"], ["time", "int"]],
    indexes: [["keyholder_id", "pos"]],
  },
  /**
   * Every other event of the four contracts (organizations, patients, guardians, keys, recovery,
   * break-glass preferences, keyholder set, migration), its arguments as canonical JSON and `key`
   * its first indexed argument.
   */
  events: {
    columns: [...COMMON, ["contract", "text"], ["name", "text"], ["key", "text"], ["args", "text"], ["time", "int"]],
    indexes: [
      ["key", "pos"],
      ["name", "pos"],
    ],
  },
} as const satisfies Record<string, TableDef>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** Column names of a table, in insert order. */
export function columnsOf(table: TableName): string[] {
  return TABLES[table].columns.map(([name]) => name);
}

function sqlType(type: ColumnType, dialect: Dialect): string {
  if (type === "int") return dialect === "sqlite" ? "INTEGER" : "BIGINT";
  if (type === "bytes") return dialect === "sqlite" ? "BLOB" : "BYTEA";
  return "TEXT";
}

/** The DDL creating the whole schema (idempotent). */
export function schemaDdl(dialect: Dialect): string[] {
  const ddl: string[] = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    `CREATE TABLE IF NOT EXISTS blocks (number ${sqlType("int", dialect)} PRIMARY KEY, hash ${sqlType("bytes", dialect)} NOT NULL, timestamp ${sqlType("int", dialect)} NOT NULL)`,
    "CREATE INDEX IF NOT EXISTS blocks_timestamp ON blocks (timestamp)",
  ];
  for (const name of TABLE_NAMES) {
    const def: TableDef = TABLES[name];
    const cols = def.columns.map(([col, type, nullable], i) => {
      const key = i === 0 ? (dialect === "sqlite" ? " PRIMARY KEY" : " PRIMARY KEY") : "";
      const notNull = nullable === "null" || i === 0 ? "" : " NOT NULL";
      return `${col} ${sqlType(type, dialect)}${key}${notNull}`;
    });
    ddl.push(`CREATE TABLE IF NOT EXISTS ${name} (${cols.join(", ")})`);
    for (const index of def.indexes) {
      ddl.push(`CREATE INDEX IF NOT EXISTS ${name}_${index.join("_")} ON ${name} (${index.join(", ")})`);
    }
  }
  return ddl;
}
