/**
 * Deployment address books: `deployments/<network>.json`, written by the deploy command and read
 * by the SDK, CLI and indexer. This module checks their shape (browser-safe); reading a file is
 * `readAddressBook` from `medledger/node`.
 *
 * @example
 * ```ts
 * import { validateAddressBook } from "medledger";
 * const book = validateAddressBook(await (await fetch("/deployments/consortium.json")).json());
 * ```
 */
import { InvalidInputError } from "../errors.js";

/** The four MedLedger contracts every address book holds. */
export const CONTRACT_NAMES = [
  "ParticipantDirectory",
  "ConsentRegistry",
  "RecordRegistry",
  "KeyholderRegistry",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];
/**
 * Every contract a deployment may hold: the timelock when governance went to one, and the study
 * registry (research) in every deployment made since it exists.
 */
export type DeployedContractName = ContractName | "TimelockController" | "StudyRegistry";
/** Contracts an address book may hold besides the four. */
export const OPTIONAL_CONTRACT_NAMES = ["TimelockController", "StudyRegistry"] as const;

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
  contracts: Record<ContractName, ContractEntry> & {
    TimelockController?: ContractEntry;
    StudyRegistry?: ContractEntry;
  };
  /** The account that holds governance after hand-off (timelock or multisig). */
  governance?: string;
  /** keccak256 of the four contracts' ABIs, to detect a mismatched SDK. */
  abiHash: string;
  deployedAt?: string;
}

/**
 * Checks the shape of a parsed address book (format, chain id, each contract's address, block
 * and version, distinct addresses); throws InvalidInputError naming the field at fault. Whether
 * the addresses hold the right contracts is checked on chain by `ChainClient.create`.
 */
export function validateAddressBook(value: unknown, source = "address book"): AddressBook {
  const fail = (field: string, problem: string): never => {
    throw new InvalidInputError(`Invalid deployment ${source}: ${field} ${problem}`, { field });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(root)", "is not an object");
  const book = value as Partial<AddressBook>;
  if (book.format !== 1) fail("format", `is ${JSON.stringify(book.format)}, expected 1`);
  if (typeof book.chainId !== "number" || !Number.isSafeInteger(book.chainId) || book.chainId <= 0)
    fail("chainId", "is not a positive integer");
  if (typeof book.network !== "string") fail("network", "is not a string");
  if (typeof book.contracts !== "object" || book.contracts === null) fail("contracts", "is missing");
  const seen = new Map<string, string>();
  const names = [
    ...CONTRACT_NAMES,
    ...OPTIONAL_CONTRACT_NAMES.filter((n) => (book.contracts as Record<string, unknown>)[n] !== undefined),
  ];
  for (const name of names) {
    const entry = (book.contracts as Record<string, ContractEntry | undefined>)[name];
    if (typeof entry !== "object" || entry === null) fail(`contracts.${name}`, "is missing");
    if (typeof entry!.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(entry!.address))
      fail(`contracts.${name}.address`, "is not an address");
    if (!Number.isSafeInteger(entry!.blockNumber) || entry!.blockNumber < 0)
      fail(`contracts.${name}.blockNumber`, "is not a block number");
    if (typeof entry!.version !== "string") fail(`contracts.${name}.version`, "is not a string");
    const other = seen.get(entry!.address.toLowerCase());
    if (other !== undefined) fail(`contracts.${name}.address`, `is also ${other}'s address`);
    seen.set(entry!.address.toLowerCase(), name);
  }
  return book as AddressBook;
}

/** The earliest deployment block: where event queries start. */
export function startBlock(book: AddressBook): number {
  return Math.min(...CONTRACT_NAMES.map((n) => book.contracts[n].blockNumber));
}
