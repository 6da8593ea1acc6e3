/**
 * Deployment address books: `deployments/<network>.json`, written by the deploy command and read
 * by the SDK, CLI and indexer.
 *
 * @example
 * ```ts
 * import { readAddressBook } from "medledger";
 * const book = await readAddressBook("deployments/consortium.json");
 * ```
 */
import { InvalidInputError, NotFoundError } from "../errors.js";

export const CONTRACT_NAMES = [
  "ParticipantDirectory",
  "ConsentRegistry",
  "RecordRegistry",
  "KeyholderRegistry",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface ContractEntry {
  address: string;
  /** The block the contract was deployed in: event queries start here. */
  blockNumber: number;
  /** What the contract's version() returned at deployment. */
  version: string;
  transactionHash?: string;
}

export interface AddressBook {
  /** Address book format version. */
  format: 1;
  network: string;
  chainId: number;
  contracts: Record<ContractName, ContractEntry> & { TimelockController?: ContractEntry };
  /** The account that holds governance after hand-off (timelock or multisig). */
  governance?: string;
  /** keccak256 of the three contracts' ABIs, to detect a mismatched SDK. */
  abiHash: string;
  deployedAt?: string;
}

/** Checks the shape of a parsed address book; throws InvalidInputError listing the problem. */
export function validateAddressBook(value: unknown): AddressBook {
  const fail = (what: string): never => {
    throw new InvalidInputError("Invalid deployment address book", { details: what });
  };
  if (typeof value !== "object" || value === null) fail("not an object");
  const book = value as Partial<AddressBook>;
  if (book.format !== 1) fail(`unsupported format ${String(book.format)}`);
  if (typeof book.chainId !== "number" || !Number.isSafeInteger(book.chainId) || book.chainId <= 0) fail("chainId");
  if (typeof book.network !== "string") fail("network");
  if (typeof book.contracts !== "object" || book.contracts === null) fail("contracts");
  for (const name of CONTRACT_NAMES) {
    const entry = book.contracts?.[name];
    if (entry === undefined) fail(`contracts.${name} missing`);
    if (!/^0x[0-9a-fA-F]{40}$/.test(entry!.address)) fail(`contracts.${name}.address`);
    if (!Number.isSafeInteger(entry!.blockNumber) || entry!.blockNumber < 0) fail(`contracts.${name}.blockNumber`);
    if (typeof entry!.version !== "string") fail(`contracts.${name}.version`);
  }
  return book as AddressBook;
}

/** Reads and validates `deployments/<network>.json` (or any path). Node only. */
export async function readAddressBook(path: string): Promise<AddressBook> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new NotFoundError(`No deployment address book at ${path}`, { cause });
  }
  try {
    return validateAddressBook(JSON.parse(text));
  } catch (cause) {
    if (cause instanceof InvalidInputError) throw cause;
    throw new InvalidInputError(`Deployment address book ${path} is not JSON`, { cause });
  }
}

/** The earliest deployment block: where event queries start. */
export function startBlock(book: AddressBook): number {
  return Math.min(...CONTRACT_NAMES.map((n) => book.contracts[n].blockNumber));
}
