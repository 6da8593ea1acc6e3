/**
 * A minimal file-backed `Datastore` (the interface Helia keeps pins and its version record in),
 * so an IPFS store opened on a directory remembers its pins across restarts.
 *
 * One file per key in a flat directory; the file name is the key in lowercase base32 (safe on
 * case-insensitive filesystems). Writes go to a temp file and are renamed into place, so a
 * record is never half-written; they are not fsynced (a pin record lost in a power cut only
 * matters to an external `helia.gc()`, which this SDK never runs). Helia's keys are short
 * (`/pin/<cid>`, `/pinned-block/<multihash>`, `/version`); keys whose encoded name would exceed
 * 240 characters are rejected. `datastore-fs` would replace this if it becomes a dependency.
 *
 * @internal
 */
import type * as NodeFs from "node:fs/promises";
import type * as NodePath from "node:path";

import type { Batch, Datastore, Key, KeyQuery, Pair, Query } from "interface-datastore";
import { base32 } from "multiformats/bases/base32";

import { NotFoundError } from "../../errors.js";

const SUFFIX = ".rec";
const MAX_NAME = 240;

export class FsDatastore implements Datastore {
  readonly #fs: typeof NodeFs;
  readonly #path: typeof NodePath;
  readonly #dir: string;
  readonly #tempDir: string;
  readonly #Key: typeof Key;

  constructor(fs: typeof NodeFs, path: typeof NodePath, dir: string, KeyClass: typeof Key) {
    this.#fs = fs;
    this.#path = path;
    this.#dir = dir;
    this.#tempDir = path.join(dir, ".tmp");
    this.#Key = KeyClass;
  }

  /** Creates the directory and drops temp files left by a crash. */
  async open(): Promise<void> {
    await this.#fs.mkdir(this.#tempDir, { recursive: true });
    for (const name of await this.#fs.readdir(this.#tempDir)) {
      await this.#fs.rm(this.#path.join(this.#tempDir, name), { force: true });
    }
  }

  async put(key: Key, value: Uint8Array): Promise<Key> {
    const temp = this.#path.join(this.#tempDir, `${globalThis.crypto.randomUUID()}.tmp`);
    try {
      await this.#fs.writeFile(temp, value);
      await this.#fs.rename(temp, this.#file(key));
    } catch (err) {
      await this.#fs.rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
    return key;
  }

  async get(key: Key): Promise<Uint8Array> {
    try {
      return new Uint8Array(await this.#fs.readFile(this.#file(key)));
    } catch (err) {
      // Helia tells "absent" from "failed" by the error's name, "NotFoundError".
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new NotFoundError("No such datastore key", { details: key.toString() });
      }
      throw err;
    }
  }

  async has(key: Key): Promise<boolean> {
    try {
      await this.#fs.access(this.#file(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: Key): Promise<void> {
    await this.#fs.rm(this.#file(key), { force: true });
  }

  async *putMany(source: Iterable<Pair> | AsyncIterable<Pair>): AsyncGenerator<Key> {
    for await (const { key, value } of source) yield await this.put(key, value);
  }

  async *getMany(source: Iterable<Key> | AsyncIterable<Key>): AsyncGenerator<Pair> {
    for await (const key of source) yield { key, value: await this.get(key) };
  }

  async *deleteMany(source: Iterable<Key> | AsyncIterable<Key>): AsyncGenerator<Key> {
    for await (const key of source) {
      await this.delete(key);
      yield key;
    }
  }

  batch(): Batch {
    const puts: Pair[] = [];
    const deletes: Key[] = [];
    return {
      put: (key, value) => void puts.push({ key, value }),
      delete: (key) => void deletes.push(key),
      commit: async () => {
        for (const { key, value } of puts.splice(0)) await this.put(key, value);
        for (const key of deletes.splice(0)) await this.delete(key);
      },
    };
  }

  async *query(query: Query): AsyncGenerator<Pair> {
    const pairs: Pair[] = [];
    for await (const key of this.#keys(query.prefix)) {
      let value: Uint8Array;
      try {
        value = await this.get(key);
      } catch (err) {
        if (err instanceof NotFoundError) continue; // deleted while listing
        throw err;
      }
      const pair = { key, value };
      if ((query.filters ?? []).every((filter) => filter(pair))) pairs.push(pair);
    }
    for (const order of query.orders ?? []) pairs.sort(order); // same semantics as datastore-core
    yield* window(pairs, query.offset, query.limit);
  }

  async *queryKeys(query: KeyQuery): AsyncGenerator<Key> {
    const keys: Key[] = [];
    for await (const key of this.#keys(query.prefix)) {
      if ((query.filters ?? []).every((filter) => filter(key))) keys.push(key);
    }
    for (const order of query.orders ?? []) keys.sort(order);
    yield* window(keys, query.offset, query.limit);
  }

  async *#keys(prefix: string | undefined): AsyncGenerator<Key> {
    for (const name of await this.#fs.readdir(this.#dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(base32.baseDecode(name.slice(0, -SUFFIX.length)));
      } catch {
        continue; // not one of ours
      }
      if (prefix === undefined || text.startsWith(prefix)) yield new this.#Key(text);
    }
  }

  #file(key: Key): string {
    const name = base32.baseEncode(new TextEncoder().encode(key.toString())) + SUFFIX;
    if (name.length > MAX_NAME) throw new RangeError(`datastore key too long: ${key.toString().slice(0, 60)}…`);
    return this.#path.join(this.#dir, name);
  }
}

function window<T>(items: T[], offset: number | undefined, limit: number | undefined): T[] {
  const start = offset ?? 0;
  return items.slice(start, limit === undefined ? undefined : start + limit);
}
