/**
 * Keystore files on the local filesystem (Node, Deno, Bun).
 *
 * This file imports no Node module statically: it reaches `node:fs/promises` and `node:path`
 * through `process.getBuiltinModule` at call time, so bundling it for a browser is harmless (the
 * functions then throw DependencyMissingError).
 */
import type * as NodeFs from "node:fs/promises";
import type * as NodePath from "node:path";

import { DependencyMissingError, InvalidInputError, NotFoundError, StorageError } from "../errors.js";
import { toHex } from "./bytes.js";
import { decryptKeystore, encryptKeystore } from "./keystore.js";
import type { Identity, KeystoreOptions } from "./keystore.js";
import { nodeBuiltin } from "./platform.js";
import { drawRandom } from "./random.js";

/** Keystore files are tiny (~700 bytes); refuse to read anything implausibly large. */
const MAX_KEYSTORE_FILE_BYTES = 64 * 1024;
/** Owner read/write only. */
const KEYSTORE_FILE_MODE = 0o600;

/** Options of {@link saveKeystore}. */
export interface SaveKeystoreOptions extends KeystoreOptions {
  /** Replace an existing file at `path`; default false (refuse, so keys are never lost by accident). */
  overwrite?: boolean;
}

function nodeFs(): { fs: typeof NodeFs; path: typeof NodePath } {
  const fs = nodeBuiltin<typeof NodeFs>("node:fs/promises");
  const path = nodeBuiltin<typeof NodePath>("node:path");
  if (fs === undefined || path === undefined) {
    throw new DependencyMissingError("Keystore files need a filesystem (node:fs), which this platform lacks", {
      details: "use encryptKeystore/decryptKeystore and store the JSON yourself",
    });
  }
  return { fs, path };
}

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}

function storageFailed(action: string, file: string, err: unknown): StorageError {
  return new StorageError(`Could not ${action} keystore file`, {
    details: `${file}: ${errorCode(err) ?? String(err)}`,
    cause: err,
  });
}

/**
 * Encrypts `identity` under `passphrase` and writes it to `path` atomically (temporary file in the
 * same directory, fsync, then link/rename, then fsync of the directory), with mode 0600. Refuses to
 * replace an existing file unless `overwrite` is set (InvalidInputError). I/O failures throw
 * StorageError and leave no temporary file behind.
 *
 * @example
 * ```ts
 * import { createIdentity, saveKeystore } from "medledger";
 * await saveKeystore("./keys/hospital-a.json", createIdentity(), passphrase);
 * ```
 */
export async function saveKeystore(
  path: string,
  identity: Identity,
  passphrase: string,
  opts: SaveKeystoreOptions = {},
): Promise<void> {
  if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("path must be a non-empty string");
  const { fs, path: nodePath } = nodeFs();
  const json = await encryptKeystore(identity, passphrase, opts);
  const target = nodePath.resolve(path);
  const temp = `${target}.${toHex(drawRandom(8, undefined)).slice(2)}.tmp`;
  let handle: NodeFs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, "wx", KEYSTORE_FILE_MODE);
    await handle.chmod(KEYSTORE_FILE_MODE); // exact mode, whatever the umask
    await handle.writeFile(json, "utf8");
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (opts.overwrite === true) {
      await fs.rename(temp, target);
    } else {
      await publishNoClobber(fs, temp, target);
    }
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    if (err instanceof InvalidInputError) throw err;
    throw storageFailed("write", target, err);
  }
  await syncDirectory(fs, nodePath.dirname(target));
}

/** Publishes `temp` at `target` only if nothing is there: link() fails atomically on EEXIST. */
async function publishNoClobber(fs: typeof NodeFs, temp: string, target: string): Promise<void> {
  const alreadyExists = () =>
    new InvalidInputError("A keystore file already exists at this path", {
      details: `${target} (pass { overwrite: true } to replace it)`,
    });
  let linked = false;
  try {
    await fs.link(temp, target);
    linked = true;
  } catch (err) {
    const code = errorCode(err);
    if (code === "EEXIST") throw alreadyExists();
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw err;
  }
  if (linked) {
    await fs.unlink(temp);
    return;
  }
  // Filesystems without hard links: check, then rename (a narrow race, but never a torn file).
  const exists = await fs.lstat(target).then(
    () => true,
    (err: unknown) => {
      if (errorCode(err) === "ENOENT") return false;
      throw err;
    },
  );
  if (exists) throw alreadyExists();
  await fs.rename(temp, target);
}

/** Makes the new directory entry durable; best effort (not supported on every platform). */
async function syncDirectory(fs: typeof NodeFs, dir: string): Promise<void> {
  let handle: NodeFs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // Windows cannot open or fsync directories; the file itself was fsynced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Reads and decrypts a keystore file written by {@link saveKeystore}. Throws NotFoundError when
 * the file does not exist, StorageError on other I/O failures, and the errors of
 * {@link decryptKeystore} (WrongPassphraseError, IntegrityError, ...) otherwise.
 *
 * @example
 * ```ts
 * import { loadKeystore } from "medledger";
 * const identity = await loadKeystore("./keys/hospital-a.json", passphrase);
 * ```
 */
export async function loadKeystore(path: string, passphrase: string): Promise<Identity> {
  if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("path must be a non-empty string");
  const { fs, path: nodePath } = nodeFs();
  const target = nodePath.resolve(path);
  let json: string;
  let handle: NodeFs.FileHandle | undefined;
  try {
    handle = await fs.open(target, "r");
    const { size } = await handle.stat();
    if (size > MAX_KEYSTORE_FILE_BYTES) {
      throw new InvalidInputError("File is too large to be a keystore", {
        details: `${target}: ${size} bytes, at most ${MAX_KEYSTORE_FILE_BYTES}`,
      });
    }
    json = await handle.readFile("utf8");
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    if (errorCode(err) === "ENOENT") {
      throw new NotFoundError("Keystore file not found", { details: target, cause: err });
    }
    throw storageFailed("read", target, err);
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return decryptKeystore(json, passphrase);
}
