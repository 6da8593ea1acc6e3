/**
 * Is this really a MedLedger deployment? Checks, for each contract of an address book: code at
 * the address, that code being the expected contract's (runtime code hash with immutables zeroed
 * and the metadata trailer removed, against sdk/chain/runtime-code.ts), a supported `version()`,
 * and the wiring (each registry points at the book's other contracts). A mismatch is a
 * `DeploymentMismatchError` naming the contract. Used by `ChainClient.create` and by deploy when
 * it resumes.
 *
 * @example
 * ```ts
 * import { verifyDeployment } from "medledger";
 * const versions = await verifyDeployment(provider, addressBook); // throws DeploymentMismatchError
 * ```
 */
import { keccak256 } from "ethers";
import type { Provider } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  StudyRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import { DeploymentMismatchError } from "../errors.js";
import { parseHex, toHex } from "../util.js";
import { CONTRACT_NAMES } from "./addressBook.js";
import type { AddressBook, DeployedContractName } from "./addressBook.js";
import { readRunner, rpcOf } from "./rpc.js";
import type { Rpc } from "./rpc.js";
import { RUNTIME_CODE } from "./runtime-code.js";

/** The major contract version this SDK speaks. */
export const SUPPORTED_MAJOR_VERSION = "1";

/**
 * Runtime code with the immutables zeroed (as in the compiler's artifact) and the CBOR metadata
 * trailer removed (it changes with comments and paths, not with behaviour).
 */
export function maskRuntimeCode(code: string, immutables: readonly (readonly [number, number])[]): string {
  const bytes = parseHex(code);
  if (bytes === undefined || bytes.length < 2) return "0x";
  for (const [start, length] of immutables) bytes.fill(0, start, start + length);
  const metadataLength = (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]!;
  const end = metadataLength + 2 <= bytes.length ? bytes.length - metadataLength - 2 : bytes.length;
  return toHex(bytes.subarray(0, end));
}

/** Whether `code` (as deployed) is `name`'s runtime code. */
export function isCodeOf(name: DeployedContractName, code: string): boolean {
  const expected = RUNTIME_CODE[name];
  return keccak256(maskRuntimeCode(code, expected.immutables)) === expected.hash;
}

/** Which MedLedger contract `code` is, if any. */
export function identifyCode(code: string): DeployedContractName | undefined {
  return (Object.keys(RUNTIME_CODE) as DeployedContractName[]).find((n) => isCodeOf(n, code));
}

/**
 * Contract coverage (`npm run test:coverage`, scripts/coverage.ts) runs instrumented bytecode that
 * matches no hash of RUNTIME_CODE. That run alone sets MEDLEDGER_CONTRACT_COVERAGE=1 in its own
 * test process, and then only the code hash comparison is skipped (there must still be code, and
 * versions and wiring are still checked). Nothing else may set it.
 */
const COVERAGE_RUN =
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.MEDLEDGER_CONTRACT_COVERAGE === "1";

/** Checks that `address` holds `name`'s code; DeploymentMismatchError naming the contract otherwise. */
export async function checkCode(rpc: Rpc, name: DeployedContractName, address: string): Promise<void> {
  const code = await rpc.code(address);
  if (code === "0x")
    throw new DeploymentMismatchError(`${name}: no contract at ${address}`, {
      contract: name,
      details: "nothing is deployed there on this chain (wrong network or address book?)",
    });
  if (COVERAGE_RUN) return;
  if (!isCodeOf(name, code)) {
    const actual = identifyCode(code);
    throw new DeploymentMismatchError(
      `${name}: the code at ${address} is ${actual === undefined ? "not a MedLedger contract" : `${actual}'s`}, not ${name}'s`,
      { contract: name, details: `code hash ${keccak256(code)}` },
    );
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function wiring(name: DeployedContractName, what: string, actual: string, expected: string): void {
  if (!sameAddress(actual, expected))
    throw new DeploymentMismatchError(`${name}: ${what} is ${actual}, the address book says ${expected}`, {
      contract: name,
    });
}

/** Checks `name`'s version() against the supported major version; returns it. */
async function checkVersion(name: DeployedContractName, read: () => Promise<string>): Promise<string> {
  const version = await read();
  if (version.split(".")[0] !== SUPPORTED_MAJOR_VERSION)
    throw new DeploymentMismatchError(`${name}: version ${version} is not supported`, {
      contract: name,
      details: `this SDK speaks ${SUPPORTED_MAJOR_VERSION}.x`,
    });
  return version;
}

/**
 * Checks the registries' links to the directory (and RecordRegistry's to ConsentRegistry). The
 * links are read in parallel and checked in this order, so the error names the first mismatch.
 */
export async function checkWiring(
  rpc: Rpc,
  addresses: {
    ParticipantDirectory: string;
    ConsentRegistry?: string;
    RecordRegistry?: string;
    KeyholderRegistry?: string;
    StudyRegistry?: string;
  },
): Promise<void> {
  const runner = readRunner(rpc);
  const studies = addresses.StudyRegistry;
  const { ConsentRegistry: consents, RecordRegistry: records, KeyholderRegistry: keyholders } = addresses;
  const directory = addresses.ParticipantDirectory;
  const links: [DeployedContractName, string, Promise<string>, string][] = [];
  if (consents !== undefined)
    links.push([
      "ConsentRegistry",
      "its directory",
      ConsentRegistry__factory.connect(consents, runner).directory(),
      directory,
    ]);
  if (records !== undefined) {
    const r = RecordRegistry__factory.connect(records, runner);
    links.push(["RecordRegistry", "its directory", r.directory(), directory]);
    if (consents !== undefined) links.push(["RecordRegistry", "its consent registry", r.consentRegistry(), consents]);
  }
  if (keyholders !== undefined)
    links.push([
      "KeyholderRegistry",
      "its directory",
      KeyholderRegistry__factory.connect(keyholders, runner).directory(),
      directory,
    ]);
  if (studies !== undefined) {
    const st = StudyRegistry__factory.connect(studies, runner);
    links.push(["StudyRegistry", "its directory", st.directory(), directory]);
    if (keyholders !== undefined)
      links.push(["StudyRegistry", "its keyholder registry", st.keyholderRegistry(), keyholders]);
    if (records !== undefined)
      links.push([
        "RecordRegistry",
        "its study registry",
        RecordRegistry__factory.connect(records, runner).studyRegistry(),
        studies,
      ]);
  }
  const settled = await Promise.allSettled(links.map((l) => l[2]));
  for (const [i, [name, what, , expected]] of links.entries()) {
    const result = settled[i]!;
    if (result.status === "rejected") throw result.reason;
    wiring(name, what, result.value, expected);
  }
}

/**
 * Verifies a deployment on chain (see the module comment): chain id, code, versions, wiring.
 * Returns each contract's version().
 */
export async function verifyDeployment(
  providerOrRpc: Provider | Rpc,
  book: AddressBook,
): Promise<Partial<Record<DeployedContractName, string>>> {
  const rpc = "estimateGas" in providerOrRpc && "sendRaw" in providerOrRpc ? providerOrRpc : rpcOf(providerOrRpc);
  const chainId = await rpc.chainId();
  if (chainId !== BigInt(book.chainId))
    throw new DeploymentMismatchError("The address book is for another chain", {
      details: `address book chain id ${book.chainId}, node chain id ${chainId}`,
    });
  const c = book.contracts;
  const names: DeployedContractName[] = [...CONTRACT_NAMES];
  if (c.TimelockController !== undefined) names.push("TimelockController");
  if (c.StudyRegistry !== undefined) names.push("StudyRegistry");
  const seen = new Map<string, DeployedContractName>();
  for (const name of names) {
    const address = c[name]!.address;
    const other = seen.get(address.toLowerCase());
    if (other !== undefined)
      throw new DeploymentMismatchError(`${name}: the address book gives it ${other}'s address ${address}`, {
        contract: name,
      });
    seen.set(address.toLowerCase(), name);
  }
  await Promise.all(names.map((name) => checkCode(rpc, name, c[name]!.address)));
  const runner = readRunner(rpc);
  const versions: Partial<Record<DeployedContractName, string>> = {};
  const reads: Record<DeployedContractName, (address: string) => Promise<string>> = {
    ParticipantDirectory: (a) => ParticipantDirectory__factory.connect(a, runner).version(),
    ConsentRegistry: (a) => ConsentRegistry__factory.connect(a, runner).version(),
    RecordRegistry: (a) => RecordRegistry__factory.connect(a, runner).version(),
    KeyholderRegistry: (a) => KeyholderRegistry__factory.connect(a, runner).version(),
    TimelockController: (a) => MedLedgerTimelock__factory.connect(a, runner).version(),
    StudyRegistry: (a) => StudyRegistry__factory.connect(a, runner).version(),
  };
  await Promise.all(
    names.map(async (name) => {
      versions[name] = await checkVersion(name, () => reads[name](c[name]!.address));
    }),
  );
  await checkWiring(rpc, {
    ParticipantDirectory: c.ParticipantDirectory.address,
    ConsentRegistry: c.ConsentRegistry.address,
    RecordRegistry: c.RecordRegistry.address,
    KeyholderRegistry: c.KeyholderRegistry.address,
    ...(c.StudyRegistry === undefined ? {} : { StudyRegistry: c.StudyRegistry.address }),
  });
  return versions;
}
