/**
 * Where a custodian keeps the key slots of the records it holds: one small JSON document per
 * record (the subject's slot and the custodian's slot). Mutable on purpose: key slots rotate and
 * are destroyed on erasure (crypto-shredding), unlike content-addressed envelopes.
 *
 * @example
 * ```ts
 * import { filesystemSlotStore } from "medledger";
 * const slots = filesystemSlotStore({ dir: "/var/lib/medledger/slots" });
 * ```
 */
import { InvalidInputError, StorageError } from "../errors.js";
import { asRecordId } from "../types.js";
import type { Hex, RecordId } from "../types.js";

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

/** Slots as files `<dir>/<recordId>.json`, written atomically (temp file, fsync, rename). */
export function filesystemSlotStore(opts: { dir: string }): SlotStore {
  const path = async (id: RecordId) => {
    const nodePath = await import("node:path");
    return nodePath.join(opts.dir, `${asRecordId(id).slice(2)}.json`);
  };
  return {
    async put(id, slots) {
      const { writeJsonAtomic } = await import("./atomicFile.js");
      await writeJsonAtomic(await path(id), slots);
    },
    async get(id) {
      const { readFile } = await import("node:fs/promises");
      try {
        const parsed = JSON.parse(await readFile(await path(id), "utf8")) as StoredSlots;
        if (typeof parsed.subject !== "string") throw new InvalidInputError("Corrupt key slot file", { details: id });
        return parsed;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        if (err instanceof InvalidInputError) throw err;
        throw new StorageError("Reading key slots failed", { cause: err, details: id });
      }
    },
    async delete(id) {
      const { rm } = await import("node:fs/promises");
      try {
        await rm(await path(id));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw new StorageError("Deleting key slots failed", { cause: err, details: id });
      }
    },
  };
}
