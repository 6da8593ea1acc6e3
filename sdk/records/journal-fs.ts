/**
 * The writer's journal in a directory (Node only; `medledger/node`): one JSON file per entry,
 * written atomically; survives crashes.
 *
 * The journal's idempotency secret is created once, with the journal, and never silently
 * replaced: a journal with entries but a missing or unreadable secret is an error (a new secret
 * would make every retry look like a new write and anchor its record a second time).
 *
 * @example
 * ```ts
 * import { filesystemJournal } from "medledger/node";
 * const journal = await filesystemJournal({ dir: ".medledger/journal" });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { StorageError } from "../errors.js";
import { isMissingFile, nodeFs, parseHex, toPlainHex, randomBytes, utf8, writeJsonAtomic } from "../util.js";
import type { Journal, JournalEntry } from "./journal.js";

/** Reads the journal's secret, or creates it for a new (empty) journal. */
async function journalSecret(dir: string): Promise<Uint8Array> {
  const { fs, path } = nodeFs("filesystemJournal");
  const file = path.join(dir, "secret.json");
  const parse = (text: string): Uint8Array => {
    let hex: unknown;
    try {
      hex = (JSON.parse(text) as { secret?: unknown }).secret;
    } catch (err) {
      throw new StorageError(`The journal secret ${file} is not valid JSON; refusing to replace it`, { cause: err });
    }
    const secret = typeof hex === "string" ? parseHex(hex) : undefined;
    if (secret === undefined || secret.length !== 32)
      throw new StorageError(`The journal secret ${file} is malformed; refusing to replace it`, {
        details: "restore it from a backup: without it, retries of unfinished writes would anchor twice",
      });
    return secret;
  };
  try {
    return parse(await fs.readFile(file, "utf8"));
  } catch (err) {
    if (!isMissingFile(err))
      throw err instanceof StorageError ? err : new StorageError(`Reading ${file} failed`, { cause: err });
  }
  const entries = await fs.readdir(path.join(dir, "entries")).catch(() => []);
  if (entries.length > 0)
    throw new StorageError(`The journal secret ${file} is missing but the journal has ${entries.length} entries`, {
      details: "restore secret.json from a backup; a new secret would make retries anchor their records twice",
    });
  const secret = randomBytes(32);
  try {
    // Exclusive create: two processes opening a new journal at once agree on one secret.
    await fs.writeFile(file, JSON.stringify({ secret: toPlainHex(secret) }), { flag: "wx", mode: 0o600 });
    return secret;
  } catch (err) {
    if ((err as { code?: unknown }).code === "EEXIST") return parse(await fs.readFile(file, "utf8"));
    throw new StorageError(`Creating ${file} failed`, { cause: err });
  }
}

/** A journal in a directory: one JSON file per entry, written atomically; survives crashes. */
export async function filesystemJournal(opts: { dir: string }): Promise<Journal> {
  const { fs, path } = nodeFs("filesystemJournal");
  if (typeof opts?.dir !== "string" || opts.dir === "")
    throw new StorageError("filesystemJournal needs a directory: { dir }");
  for (const sub of ["entries", "records", "index"]) await fs.mkdir(path.join(opts.dir, sub), { recursive: true });
  const secret = await journalSecret(opts.dir);
  const readJson = async <T>(file: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await fs.readFile(file, "utf8")) as T;
    } catch (err) {
      if (isMissingFile(err)) return undefined;
      throw new StorageError(`Reading journal file ${file} failed`, { cause: err });
    }
  };
  // File names from a hash: any key or index name fits, and none can traverse paths.
  const safe = (name: string) => toPlainHex(sha256(utf8(name)));
  const entryFile = (key: string) => path.join(opts.dir, "entries", `${safe(key)}.json`);
  return {
    secret,
    get: (key) => readJson<JournalEntry>(entryFile(key)),
    async put(key, entry) {
      await writeJsonAtomic(entryFile(key), entry);
      await writeJsonAtomic(path.join(opts.dir, "records", `${entry.recordId.slice(2)}.json`), { key });
    },
    async byRecord(recordId) {
      const ref = await readJson<{ key: string }>(path.join(opts.dir, "records", `${recordId.slice(2)}.json`));
      return ref === undefined ? undefined : readJson<JournalEntry>(entryFile(ref.key));
    },
    async getIndex(name) {
      return (await readJson<{ value: string }>(path.join(opts.dir, "index", `${safe(name)}.json`)))?.value;
    },
    async setIndex(name, value) {
      await writeJsonAtomic(path.join(opts.dir, "index", `${safe(name)}.json`), { value });
    },
  };
}
