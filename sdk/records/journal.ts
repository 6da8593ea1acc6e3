/**
 * The writer's journal: makes `records.put` idempotent and crash-safe. An entry is written after
 * the envelope and key slots are stored and before the anchor is sent; a retry finds it and only
 * finishes what is missing (the chain itself refuses a second anchor of the same record id).
 * Also an index the writer keeps: FHIR resource → head record, and batch membership proofs.
 *
 * The filesystem journal (`filesystemJournal`) is Node-only: `medledger/node`.
 *
 * @example
 * ```ts
 * import { memoryJournal } from "medledger";
 * import { filesystemJournal } from "medledger/node";
 * const journal = process.env.NODE_ENV === "test" ? memoryJournal() : await filesystemJournal({ dir: ".medledger/journal" });
 * ```
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

import type { LabelOpening } from "../sealed/commitments.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import { randomBytes, toPlainHex } from "../util.js";

export type JournalStage = "stored" | "anchored";

/** What a writer knows about one record version it wrote. */
export interface JournalEntry {
  recordId: RecordId;
  subject: SubjectId;
  category: number;
  mediaType: string;
  previous: RecordId | null;
  /** The envelope's storage address (the on-chain pointer). */
  pointer: string;
  /** sha256 of the envelope (the anchor event's digest). */
  digest: Hex;
  /** The salted commitment to the record's sensitive labels, anchored with the digest. */
  labelCommitment: Hex;
  /**
   * The opening of `labelCommitment` (the label mask and its salt). Kept here so that it can be
   * delivered, encrypted, to the custodian's keyholder and to the patient (sealed labels); it
   * never goes on chain.
   */
  labels: LabelOpening;
  stage: JournalStage;
  /**
   * For batch members: the batch root, the member's Merkle proof and the batch's size (the batch
   * tag starts the record id). Written before the batch is anchored ("stored"), so that a retry
   * adopts the batch if its anchor was mined meanwhile.
   */
  batch?: { root: Hex; proof: Hex[]; count: number };
}

export interface Journal {
  /** A secret that keys idempotency hashes (so they reveal nothing about content). */
  readonly secret: Uint8Array;
  get(key: string): Promise<JournalEntry | undefined>;
  put(key: string, entry: JournalEntry): Promise<void>;
  /** Looks an entry up by record id. */
  byRecord(recordId: RecordId): Promise<JournalEntry | undefined>;
  /** Free-form index values (e.g. FHIR resource → head record id). */
  getIndex(name: string): Promise<string | undefined>;
  setIndex(name: string, value: string): Promise<void>;
}

/** The idempotency key of a write: HMAC(secret, fields), so the same write maps to the same entry. */
export function idempotencyKey(secret: Uint8Array, parts: readonly (string | Uint8Array)[]): string {
  const enc = new TextEncoder();
  const mac = hmac.create(sha256, secret);
  for (const part of parts) {
    const bytes = typeof part === "string" ? enc.encode(part) : part;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length);
    mac.update(len).update(bytes);
  }
  return toPlainHex(mac.digest());
}

/** A journal in memory (tests; a crash loses it, so retries cannot resume). */
export function memoryJournal(): Journal {
  const entries = new Map<string, JournalEntry>();
  const records = new Map<string, string>();
  const index = new Map<string, string>();
  return {
    secret: randomBytes(32),
    get: async (key) => entries.get(key),
    async put(key, entry) {
      entries.set(key, { ...entry });
      records.set(entry.recordId, key);
    },
    async byRecord(recordId) {
      const key = records.get(recordId);
      return key === undefined ? undefined : entries.get(key);
    },
    getIndex: async (name) => index.get(name),
    async setIndex(name, value) {
      index.set(name, value);
    },
  };
}

/** The filesystem journal (Node only; reached without a static node: import). Also in `medledger/node`. */
export { filesystemJournal } from "./journal-fs.js";
