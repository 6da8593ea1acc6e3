/**
 * `medledger/node`: the parts of the SDK that need a filesystem (Node.js ≥ 22). The package root
 * (`medledger`) stays browser-safe; import these only on a server or in a tool.
 *
 * - `readAddressBook`, `deployToFile` (the deploy used by the `medledger deploy` command and the
 *   Hardhat script `scripts/deploy.ts`);
 * - `filesystem` (blob storage), `filesystemJournal`, `filesystemSlotStore`;
 * - `loadKeystore` / `saveKeystore` (identity keystore files);
 * - `writeFileAtomic` / `writeJsonAtomic`.
 *
 * @example
 * ```ts
 * import { MedLedger } from "medledger";
 * import { filesystem, filesystemJournal, readAddressBook } from "medledger/node";
 * const ml = await MedLedger.create({
 *   signer, keyholders,
 *   addressBook: await readAddressBook("deployments/consortium.json"),
 *   storage: filesystem({ dir: "/var/lib/medledger/blobs" }),
 *   journal: await filesystemJournal({ dir: "/var/lib/medledger/journal" }),
 * });
 * ```
 *
 * @module
 */
import type { Signer } from "ethers";

import { validateAddressBook } from "./chain/addressBook.js";
import type { AddressBook } from "./chain/addressBook.js";
import { deployMedLedger, governanceFromFlags } from "./deploy.js";
import type { DeployOptions, GovernanceFlags, PartialAddressBook } from "./deploy.js";
import { InvalidInputError, NotFoundError, StorageError } from "./errors.js";
import { isMissingFile, nodeFs, writeJsonAtomic } from "./util.js";

export { filesystem, type FilesystemOptions } from "./storage/filesystem.js";
export { filesystemJournal } from "./records/journal-fs.js";
export { filesystemSlotStore } from "./keyholder/slotStore.js";
export { loadKeystore, saveKeystore, type SaveKeystoreOptions } from "./crypto/keystore-file.js";
export { writeFileAtomic, writeJsonAtomic } from "./util.js";

/** Reads a JSON file; NotFoundError if absent, InvalidInputError naming the file and the parse error. */
async function readJsonFile(path: string, what: string): Promise<unknown> {
  const { fs } = nodeFs(what);
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (cause) {
    if (isMissingFile(cause)) throw new NotFoundError(`No ${what} at ${path}`, { cause });
    throw new StorageError(`Reading ${what} ${path} failed`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidInputError(`The ${what} ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and checks a deployment address book (`deployments/<network>.json` or any path). A
 * malformed file is an InvalidInputError naming the file and the problem.
 */
export async function readAddressBook(path: string): Promise<AddressBook> {
  return validateAddressBook(await readJsonFile(path, "deployment file"), `file ${path}`);
}

export interface DeployToFileOptions extends Omit<DeployOptions, "previous" | "onProgress" | "governance"> {
  /** The address book file (`<dir>/<network>.json`): read to resume, rewritten after every step. */
  file: string;
  /** Governance as flags or environment variables give it (see `governanceFromFlags`). */
  governance: GovernanceFlags;
}

/**
 * The deploy of the `medledger deploy` command and of `scripts/deploy.ts`: parses the governance
 * flags, reads the previous address book (if any), deploys or resumes, and rewrites the file
 * atomically after every step.
 */
export async function deployToFile(deployer: Signer, opts: DeployToFileOptions): Promise<AddressBook> {
  const governance = governanceFromFlags(opts.governance);
  let previous: PartialAddressBook | undefined;
  try {
    previous = (await readJsonFile(opts.file, "deployment file")) as PartialAddressBook;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (previous !== undefined && (typeof previous !== "object" || previous === null || Array.isArray(previous)))
    throw new InvalidInputError(`The deployment file ${opts.file} is not an address book`, { field: "file" });
  if (previous !== undefined && (typeof previous.contracts !== "object" || previous.contracts === null))
    throw new InvalidInputError(`The deployment file ${opts.file} has no "contracts" object`, { field: "file" });
  const { file, governance: _flags, ...rest } = opts;
  return deployMedLedger(deployer, {
    ...rest,
    governance,
    previous,
    onProgress: (book) => writeJsonAtomic(file, book, 0o644),
  });
}
