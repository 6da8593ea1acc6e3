/** Small JSON documents written atomically: temp file in the same directory, fsync, rename, fsync dir. */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

import { StorageError } from "../errors.js";

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.tmp-${randomBytes(8).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    const dirHandle = await open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new StorageError(`Writing ${path} failed`, { cause: err });
  }
}
