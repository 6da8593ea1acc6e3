/**
 * Where a custodian keeps the key slots of the records it holds: one small JSON document per
 * record (the subject's slot and the custodian's slot). Mutable on purpose: key slots rotate and
 * are destroyed on erasure (crypto-shredding), unlike content-addressed envelopes.
 *
 * @example
 * ```ts
 * import { memorySlotStore } from "medledger";
 * import { filesystemSlotStore } from "medledger/node";
 * const slots = process.env.SLOTS_DIR ? filesystemSlotStore({ dir: process.env.SLOTS_DIR }) : memorySlotStore();
 * ```
 */
import { StorageError } from "../errors.js";
import { asRecordId } from "../types.js";
import type { Hex, RecordId } from "../types.js";
import { isMissingFile, nodeFs, writeJsonAtomic } from "../util.js";

/** The wrapped data keys of one record version. */
export interface StoredSlots {
  /** The data key wrapped for the subject's registered X25519 key. */
  subject: Hex;
  /** The data key wrapped for the custodian organization's registered key (absent when the subject holds it). */
  custodian?: Hex;
}

export interface SlotStore {
  put(recordId: RecordId, slots: StoredSlots): Promise<void>;
  get(recordId: RecordId): Promise<StoredSlots | undefined>;
  /** Destroys the slots (crypto-shredding); true if there were any. */
  delete(recordId: RecordId): Promise<boolean>;
}

/** Slots in memory (tests, demos). */
export function memorySlotStore(): SlotStore {
  const map = new Map<RecordId, StoredSlots>();
  return {
    put: async (id, slots) => void map.set(asRecordId(id), { ...slots }),
    get: async (id) => map.get(asRecordId(id)),
    delete: async (id) => map.delete(asRecordId(id)),
  };
}

/** Slots as files `<dir>/<recordId>.json`, written atomically (temp file, fsync, rename). Node only. */
export function filesystemSlotStore(opts: { dir: string }): SlotStore {
  const { fs, path } = nodeFs("filesystemSlotStore");
  const file = (id: RecordId) => path.join(opts.dir, `${asRecordId(id).slice(2)}.json`);
  return {
    async put(id, slots) {
      await writeJsonAtomic(file(id), slots);
    },
    async get(id) {
      let text: string;
      try {
        text = await fs.readFile(file(id), "utf8");
      } catch (err) {
        if (isMissingFile(err)) return undefined;
        throw new StorageError("Reading key slots failed", { cause: err, details: id });
      }
      let parsed: StoredSlots;
      try {
        parsed = JSON.parse(text) as StoredSlots;
      } catch (err) {
        throw new StorageError("Corrupt key slot file", { cause: err, details: id });
      }
      if (typeof parsed?.subject !== "string") throw new StorageError("Corrupt key slot file", { details: id });
      return parsed;
    },
    async delete(id) {
      try {
        await fs.rm(file(id));
        return true;
      } catch (err) {
        if (isMissingFile(err)) return false;
        throw new StorageError("Deleting key slots failed", { cause: err, details: id });
      }
    },
  };
}
