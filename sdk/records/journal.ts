/**
 * The writer's journal: makes `records.put` idempotent and crash-safe. An entry is written after
 * the envelope and key slots are stored and before the anchor is sent; a retry finds it and only
 * finishes what is missing (the chain itself refuses a second anchor of the same record id).
 * Also an index the writer keeps: FHIR resource → head record, and batch membership proofs.
 *
 * @example
 * ```ts
 * import { filesystemJournal } from "medledger";
 * const journal = await filesystemJournal({ dir: ".medledger/journal" });
 * ```
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { StorageError } from "../errors.js";
import type { Hex, RecordId, SubjectId } from "../types.js";

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
  /** sha256 of the envelope (the on-chain digest). */
  digest: Hex;
  custodian: number;
  stage: JournalStage;
  /** For batch members: the batch root and the Merkle proof. */
  batch?: { root: Hex; proof: Hex[] };
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
  return Buffer.from(mac.digest()).toString("hex");
}

function randomSecret(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

/** A journal in memory (tests; a crash loses it, so retries cannot resume). */
export function memoryJournal(): Journal {
  const entries = new Map<string, JournalEntry>();
  const records = new Map<string, string>();
  const index = new Map<string, string>();
  return {
    secret: randomSecret(),
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

/** A journal in a directory: one JSON file per entry, written atomically; survives crashes. */
export async function filesystemJournal(opts: { dir: string }): Promise<Journal> {
  const fs = await import("node:fs/promises");
  const nodePath = await import("node:path");
  const join = (...parts: string[]) => nodePath.join(...parts);
  const readFile = (path: string, encoding: "utf8") => fs.readFile(path, encoding);
  const mkdir = (path: string, opts: { recursive: true }) => fs.mkdir(path, opts);
  const { writeJsonAtomic } = await import("../keyholder/atomicFile.js");
  await mkdir(join(opts.dir, "entries"), { recursive: true });
  await mkdir(join(opts.dir, "records"), { recursive: true });
  await mkdir(join(opts.dir, "index"), { recursive: true });
  const secretPath = join(opts.dir, "secret.json");
  let secret: Uint8Array;
  try {
    secret = Buffer.from((JSON.parse(await readFile(secretPath, "utf8")) as { secret: string }).secret, "hex");
  } catch {
    secret = randomSecret();
    await writeJsonAtomic(secretPath, { secret: Buffer.from(secret).toString("hex") });
  }
  const readJson = async <T>(path: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(path, "utf8")) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StorageError(`Reading journal file ${path} failed`, { cause: err });
    }
  };
  // File names from a hash: any key or index name fits, and none can traverse paths.
  const safe = (name: string) => Buffer.from(sha256(new TextEncoder().encode(name))).toString("hex");
  return {
    secret,
    get: (key) => readJson<JournalEntry>(join(opts.dir, "entries", `${safe(key)}.json`)),
    async put(key, entry) {
      await writeJsonAtomic(join(opts.dir, "entries", `${safe(key)}.json`), entry);
      await writeJsonAtomic(join(opts.dir, "records", `${entry.recordId.slice(2)}.json`), { key });
    },
    async byRecord(recordId) {
      const ref = await readJson<{ key: string }>(join(opts.dir, "records", `${recordId.slice(2)}.json`));
      return ref === undefined ? undefined : readJson<JournalEntry>(join(opts.dir, "entries", `${safe(ref.key)}.json`));
    },
    async getIndex(name) {
      return (await readJson<{ value: string }>(join(opts.dir, "index", `${safe(name)}.json`)))?.value;
    },
    async setIndex(name, value) {
      await writeJsonAtomic(join(opts.dir, "index", `${safe(name)}.json`), { value });
    },
  };
}
