/**
 * Deploys MedLedger and hands governance over: the one deploy used by the `medledger deploy`
 * command and the Hardhat script (both through `deployToFile` in `medledger/node`).
 *
 * - **Checked first.** Every option is validated before the first transaction.
 * - **The deployer keeps no power.** Governance goes to a TimelockController whose proposers are
 *   given explicitly (not the deployer) with a non-zero delay, or to a multisig. Anything that
 *   leaves the deployer in control (`governance: "deployer"`, the deployer as a proposer, a zero
 *   delay) needs `development: true`, and then warns on every run.
 * - **Repeatable.** Given an earlier run's address book, contracts already deployed are checked
 *   (their code is the expected contract's, their wiring is right) and kept; a complete
 *   deployment is left unchanged.
 * - **Resumable.** Before each deployment the planned address (deployer + nonce) and then the
 *   transaction hash are saved through `onProgress`. A crashed run's pending contract is adopted
 *   only if the code at that address is the expected contract's and its wiring is right; a
 *   transaction still in the pool is waited for.
 * - **Nonces from the node.** Nonces are read with `eth_getTransactionCount(…, "pending")`,
 *   never from a cache, so a plain `new JsonRpcProvider(url)` works on instant-mining nodes.
 *
 * @example
 * ```ts
 * import { deployMedLedger } from "medledger";
 * const book = await deployMedLedger(deployer, {
 *   network: "consortium",
 *   governance: { timelock: { minDelay: 86_400, proposers: [multisig] } },
 *   onProgress: save,
 * });
 * ```
 */
import { getCreateAddress } from "ethers";
import type { Signer } from "ethers";

import {
  ConsentRegistry__factory,
  MedLedgerTimelock__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
  StudyRegistry__factory,
} from "../types/typechain/index.js";
import type { AddressBook, ContractEntry, DeployedContractName } from "./chain/addressBook.js";
import { abiHash } from "./chain/client.js";
import { readRunner, rpcOf } from "./chain/rpc.js";
import type { Rpc, RpcReceipt } from "./chain/rpc.js";
import { TransactionSender, detectZeroGas } from "./chain/transactions.js";
import { checkCode, checkWiring } from "./chain/verify.js";
import { DeploymentMismatchError, InvalidInputError, TransactionError } from "./errors.js";
import { ZERO_ADDRESS } from "./types.js";
import { address, addresses, bool, durationSeconds, object } from "./validate.js";

/** An address book under construction (what `onProgress` receives and `previous` accepts). */
export interface PartialAddressBook extends Omit<Partial<AddressBook>, "contracts"> {
  contracts: Partial<Record<DeployedContractName, ContractEntry>>;
  /** Deployments sent but not yet recorded: adopted on resume if their code and wiring are right. */
  pending?: Partial<Record<DeployedContractName, { address: string; nonce: number; hash?: string }>>;
}

/** Who governs after deployment. */
export type Governance =
  /** A TimelockController deployed here: proposers schedule, executors (default: anyone) run after `minDelay` seconds. */
  | { timelock: { minDelay: number; proposers: readonly string[]; executors?: readonly string[] } }
  /** A multisig (or any account) other than the deployer. */
  | { multisig: string }
  /** The deployer keeps governance: development only. */
  | "deployer";

export interface DeployOptions {
  /** A plain name for the network (the address book's file name). */
  network: string;
  governance: Governance;
  /**
   * Allows governance that leaves the deployer in control (`"deployer"`, the deployer among the
   * proposers, a zero delay). Development networks only: a warning is printed on every run.
   */
  development?: boolean;
  /** An earlier run's (possibly partial) address book. */
  previous?: PartialAddressBook;
  /** Called whenever the book changes: persist it, so a crashed run resumes. */
  onProgress?: (book: PartialAddressBook) => Promise<void> | void;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Warnings (default: console.warn). */
  warn?: (line: string) => void;
  /** A fixed gas price (default: detected; zero-gas networks get legacy transactions at 0). */
  gasPrice?: bigint;
  /** How long to wait for a crashed run's deployment still in the pool (ms, default 120 s). */
  pendingWaitMs?: number;
  /**
   * Imports an earlier deployment's state before the migration is sealed (the deployer is the
   * migrator until then). Runs again after a crash, so it must be idempotent.
   */
  migrate?: (book: PartialAddressBook) => Promise<void>;
}

/** The longest timelock delay accepted (a year): larger values are milliseconds by mistake. */
export const MAX_TIMELOCK_DELAY = 365 * 24 * 3600;

/** Governance after validation. */
type Checked =
  | { kind: "timelock"; minDelay: number; proposers: string[]; executors: string[]; keepsPower: string[] }
  | { kind: "multisig"; account: string; keepsPower: string[] }
  | { kind: "deployer"; keepsPower: string[] };

/**
 * Checks deploy options against the deployer's address; throws InvalidInputError naming the
 * problem. Runs before anything is sent.
 */
export function checkDeployOptions(opts: DeployOptions, deployer: string): Checked {
  object(opts, "options");
  if (typeof opts.network !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(opts.network))
    throw new InvalidInputError("network must be a plain name (letters, digits, - and _)", { field: "network" });
  const development = opts.development === undefined ? false : bool(opts.development, "development");
  const g = opts.governance as unknown;
  let checked: Checked;
  if (g === "deployer" || g === false) {
    checked = { kind: "deployer", keepsPower: ["the deployer keeps governance"] };
  } else if (typeof g === "object" && g !== null && "multisig" in g) {
    const account = address(g.multisig, "governance.multisig");
    checked = {
      kind: "multisig",
      account,
      keepsPower: account.toLowerCase() === deployer.toLowerCase() ? ["the multisig is the deployer"] : [],
    };
  } else if (typeof g === "object" && g !== null && "timelock" in g) {
    const t = object(g.timelock, "governance.timelock");
    const minDelay = durationSeconds(t.minDelay, "governance.timelock.minDelay", MAX_TIMELOCK_DELAY);
    if (t.proposers === undefined || (Array.isArray(t.proposers) && t.proposers.length === 0))
      throw new InvalidInputError(
        "The timelock needs explicit proposers (the accounts that may schedule governance calls; not the deployer)",
        { field: "governance.timelock.proposers" },
      );
    const proposers = addresses(t.proposers, "governance.timelock.proposers");
    const executors =
      t.executors === undefined ? [ZERO_ADDRESS] : addresses(t.executors, "governance.timelock.executors");
    const keepsPower: string[] = [];
    if (minDelay === 0) keepsPower.push("the timelock delay is 0");
    if (proposers.some((p) => p.toLowerCase() === deployer.toLowerCase()))
      keepsPower.push("the deployer is a proposer");
    checked = { kind: "timelock", minDelay, proposers, executors, keepsPower };
  } else {
    throw new InvalidInputError(
      'governance must be { timelock: { minDelay, proposers } }, { multisig } or "deployer" (development)',
      { field: "governance" },
    );
  }
  if (checked.keepsPower.length > 0 && !development)
    throw new InvalidInputError(
      `Refusing a deployment where the deployer keeps power: ${checked.keepsPower.join("; ")}`,
      {
        field: "governance",
        details:
          "give proposers other than the deployer and a non-zero delay (or a multisig); development networks only: development: true (--development)",
      },
    );
  return checked;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function deployMedLedger(deployer: Signer, opts: DeployOptions): Promise<AddressBook> {
  const provider = deployer?.provider;
  if (provider === null || provider === undefined)
    throw new InvalidInputError("The deployer has no provider: connect it (wallet.connect(provider))", {
      field: "deployer",
    });
  const from = await deployer.getAddress();
  const governance = checkDeployOptions(opts, from);
  const log = opts.log ?? (() => undefined);
  const warn = opts.warn ?? ((line: string) => console.warn(line));
  if (governance.keepsPower.length > 0) {
    warn(
      `WARNING: development deployment: ${governance.keepsPower.join("; ")}. Anyone holding the deployer key controls this consortium. Never use this on a shared network.`,
    );
  }
  const rpc = rpcOf(provider);
  const chainId = await rpc.chainId();
  if (opts.previous?.chainId !== undefined && opts.previous.chainId !== Number(chainId)) {
    throw new InvalidInputError("The existing address book is for another chain", {
      details: `book chain id ${opts.previous.chainId}, node chain id ${chainId}`,
    });
  }
  const book: PartialAddressBook = {
    ...opts.previous,
    format: 1,
    network: opts.network,
    chainId: Number(chainId),
    abiHash: abiHash(),
    contracts: { ...opts.previous?.contracts },
    pending: { ...opts.previous?.pending },
  };
  const fees =
    opts.gasPrice !== undefined ? { gasPrice: opts.gasPrice } : (await detectZeroGas(rpc)) ? "zero" : "market";
  const sender = new TransactionSender({
    signer: deployer,
    account: from,
    rpc,
    chainId,
    fees: opts.gasPrice === 0n ? "zero" : fees,
    confirmations: 1,
    dropCheckMs: 15_000,
    timeoutMs: 600_000,
    pollMs: 500,
  });
  const save = async () => opts.onProgress?.(book);
  const pendingWaitMs = opts.pendingWaitMs ?? 120_000;

  /** Keeps, adopts or deploys `name`; `wired` checks an existing instance's links. */
  const ensure = async (
    name: DeployedContractName,
    initcode: () => Promise<string>,
    wired: (address: string) => Promise<void>,
  ): Promise<string> => {
    const known = book.contracts[name];
    if (known !== undefined) {
      await checkCode(rpc, name, known.address);
      await wired(known.address);
      log(`${name}: kept at ${known.address}`);
      return known.address;
    }
    const pending = book.pending?.[name];
    if (pending !== undefined) {
      const adopted = await adoptPending(rpc, name, pending, from, wired, pendingWaitMs, log);
      delete book.pending![name];
      if (adopted !== undefined) {
        book.contracts[name] = adopted;
        await save();
        log(`${name}: adopted from an interrupted run at ${adopted.address}`);
        return adopted.address;
      }
      await save();
    }
    const data = await initcode();
    const nonce = await sender.peekNonce();
    book.pending![name] = { address: getCreateAddress({ from, nonce }), nonce };
    await save();
    const receipt = await sender.send(
      { data },
      {
        onSent: async (hash) => {
          book.pending![name] = { ...book.pending![name]!, hash };
          await save();
        },
      },
    );
    const address = deployedAddress(name, receipt);
    await checkCode(rpc, name, address);
    book.contracts[name] = { address, blockNumber: receipt.blockNumber, version: "", transactionHash: receipt.hash };
    delete book.pending![name];
    await save();
    log(`${name}: deployed at ${address}`);
    return address;
  };

  // 1.1 constructors take the migrator (the deployer until sealMigration, below).
  const directoryAddress = await ensure(
    "ParticipantDirectory",
    async () => (await new ParticipantDirectory__factory().getDeployTransaction(from, from)).data,
    async () => undefined,
  );
  const consentsAddress = await ensure(
    "ConsentRegistry",
    async () => (await new ConsentRegistry__factory().getDeployTransaction(directoryAddress, from)).data,
    (a) => checkWiring(rpc, { ParticipantDirectory: directoryAddress, ConsentRegistry: a }),
  );
  const recordsAddress = await ensure(
    "RecordRegistry",
    async () =>
      (await new RecordRegistry__factory().getDeployTransaction(directoryAddress, consentsAddress, from)).data,
    (a) =>
      checkWiring(rpc, { ParticipantDirectory: directoryAddress, ConsentRegistry: consentsAddress, RecordRegistry: a }),
  );
  const keyholdersAddress = await ensure(
    "KeyholderRegistry",
    async () => (await new KeyholderRegistry__factory().getDeployTransaction(from, directoryAddress)).data,
    (a) => checkWiring(rpc, { ParticipantDirectory: directoryAddress, KeyholderRegistry: a }),
  );

  const runner = readRunner(rpc, from);
  // Research: the study registry, connected to RecordRegistry before the migration is sealed (an
  // earlier deployment sealed without one keeps none: study reads then revert).
  const records = RecordRegistry__factory.connect(recordsAddress, runner);
  if (book.contracts.StudyRegistry !== undefined || !(await records.migrationSealed())) {
    const studiesAddress = await ensure(
      "StudyRegistry",
      async () => (await new StudyRegistry__factory().getDeployTransaction(directoryAddress, keyholdersAddress)).data,
      (a) =>
        checkWiring(rpc, {
          ParticipantDirectory: directoryAddress,
          KeyholderRegistry: keyholdersAddress,
          StudyRegistry: a,
        }),
    );
    if ((await records.studyRegistry()) === ZERO_ADDRESS) {
      await sender.send(await records.setStudyRegistry.populateTransaction(studiesAddress));
      log(`RecordRegistry: study registry set to ${studiesAddress}`);
    }
  } else {
    warn("RecordRegistry was sealed without a study registry: this deployment cannot run studies");
  }
  // Migration: import (if asked), then seal every migratable contract, before anyone else gets a role.
  const migratables = [
    ParticipantDirectory__factory.connect(directoryAddress, runner),
    ConsentRegistry__factory.connect(consentsAddress, runner),
    RecordRegistry__factory.connect(recordsAddress, runner),
  ];
  if (opts.migrate !== undefined && !(await migratables[0]!.migrationSealed())) await opts.migrate(book);
  for (const m of migratables) {
    if (!(await m.migrationSealed())) {
      await sender.send(await m.sealMigration.populateTransaction());
      log(`${await m.getAddress()}: migration sealed`);
    }
  }

  // Governance hand-off: the new governor gets both roles on every governed contract, then the
  // deployer renounces them (admin last: once it is renounced the deployer can change nothing).
  const directory = ParticipantDirectory__factory.connect(directoryAddress, runner);
  const keyholders = KeyholderRegistry__factory.connect(keyholdersAddress, runner);
  let governor = from;
  if (governance.kind === "multisig") governor = governance.account;
  if (governance.kind === "timelock") {
    const { minDelay, proposers, executors } = governance;
    governor = await ensure(
      "TimelockController",
      async () => (await new MedLedgerTimelock__factory().getDeployTransaction(minDelay, proposers, executors)).data,
      (a) => checkTimelock(rpc, a, governance),
    );
  }
  if (governor !== from) {
    for (const [label, governed] of [
      ["ParticipantDirectory", directory],
      ["KeyholderRegistry", keyholders],
    ] as const) {
      const [role, adminRole] = await Promise.all([governed.GOVERNANCE_ROLE(), governed.DEFAULT_ADMIN_ROLE()]);
      const roleName = (r: string) => `${label} ${r === role ? "GOVERNANCE_ROLE" : "DEFAULT_ADMIN_ROLE"}`;
      for (const r of [role, adminRole]) {
        if (!(await governed.hasRole(r, governor))) {
          await sender.send(await governed.grantRole.populateTransaction(r, governor));
          log(`granted ${roleName(r)} to ${governor}`);
        }
      }
      for (const r of [role, adminRole]) {
        if (await governed.hasRole(r, from)) {
          await sender.send(await governed.renounceRole.populateTransaction(r, from));
          log(`deployer renounced ${roleName(r)}`);
        }
      }
    }
  }

  const c = book.contracts as Record<DeployedContractName, ContractEntry>;
  c.ParticipantDirectory.version = await directory.version();
  c.ConsentRegistry.version = await ConsentRegistry__factory.connect(c.ConsentRegistry.address, runner).version();
  c.RecordRegistry.version = await RecordRegistry__factory.connect(c.RecordRegistry.address, runner).version();
  c.KeyholderRegistry.version = await keyholders.version();
  if (c.StudyRegistry !== undefined)
    c.StudyRegistry.version = await StudyRegistry__factory.connect(c.StudyRegistry.address, runner).version();
  if (governance.kind === "timelock")
    c.TimelockController.version = await MedLedgerTimelock__factory.connect(
      c.TimelockController.address,
      runner,
    ).version();
  else delete book.contracts.TimelockController;
  const addressesSeen = Object.values(book.contracts).map((e) => e.address.toLowerCase());
  if (new Set(addressesSeen).size !== addressesSeen.length)
    throw new DeploymentMismatchError("Two contracts of the address book share an address", {
      details: JSON.stringify(book.contracts),
    });
  book.governance = governor;
  book.deployedAt ??= new Date().toISOString();
  if (book.pending !== undefined && Object.keys(book.pending).length === 0) delete book.pending;
  await save();
  return book as unknown as AddressBook;

  function deployedAddress(name: DeployedContractName, receipt: RpcReceipt): string {
    if (receipt.contractAddress === null)
      throw new TransactionError(`${name}: the deployment's receipt has no contract address`, {
        details: receipt.hash,
      });
    return receipt.contractAddress;
  }
}

/** A timelock built for `g`: same delay, every proposer and executor holds its role. */
async function checkTimelock(
  rpc: Rpc,
  address: string,
  g: { minDelay: number; proposers: string[]; executors: string[] },
): Promise<void> {
  const t = MedLedgerTimelock__factory.connect(address, readRunner(rpc));
  const delay = Number(await t.getMinDelay());
  const fail = (what: string) => {
    throw new DeploymentMismatchError(`TimelockController at ${address}: ${what}`, {
      contract: "TimelockController",
      details: "the existing timelock differs from the requested governance; deploy to a new network name",
    });
  };
  if (delay !== g.minDelay) fail(`delay ${delay} s, requested ${g.minDelay} s`);
  const [proposer, executor] = await Promise.all([t.PROPOSER_ROLE(), t.EXECUTOR_ROLE()]);
  for (const p of g.proposers) if (!(await t.hasRole(proposer, p))) fail(`${p} is not a proposer`);
  for (const e of g.executors) if (!(await t.hasRole(executor, e))) fail(`${e} is not an executor`);
}

/**
 * A crashed run's pending deployment: adopted (its entry returned) only when the expected
 * contract, correctly wired, is at the planned address; undefined when that nonce went elsewhere
 * or never reached the node (deploy again). A transaction still in the pool is waited for.
 */
async function adoptPending(
  rpc: Rpc,
  name: DeployedContractName,
  pending: { address: string; nonce: number; hash?: string },
  from: string,
  wired: (address: string) => Promise<void>,
  waitMs: number,
  log: (line: string) => void,
): Promise<ContractEntry | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if ((await rpc.code(pending.address)) !== "0x") {
      try {
        await checkCode(rpc, name, pending.address);
        await wired(pending.address);
      } catch (err) {
        if (!(err instanceof DeploymentMismatchError)) throw err;
        log(
          `${name}: the interrupted run's address ${pending.address} holds something else (${err.shortMessage}); deploying anew`,
        );
        return undefined;
      }
      const receipt = pending.hash === undefined ? null : await rpc.receipt(pending.hash);
      return {
        address: pending.address,
        blockNumber: receipt?.blockNumber ?? (await deployBlock(rpc, pending.address)),
        version: "",
        ...(receipt === null ? {} : { transactionHash: receipt.hash }),
      };
    }
    // No code: was the nonce used (by a failed or other transaction), is it in the pool, or neither?
    if ((await rpc.nonce(from, "latest")) > pending.nonce) return undefined;
    const queued = await rpc.nonce(from, "pending");
    if (queued <= pending.nonce) return undefined;
    if (Date.now() > deadline) {
      throw new TransactionError(`${name}: the interrupted run's deployment is still pending after ${waitMs} ms`, {
        details: `nonce ${pending.nonce}, planned address ${pending.address}`,
      });
    }
    log(`${name}: waiting for the interrupted run's deployment (nonce ${pending.nonce}) to be mined`);
    await sleep(1000);
  }
}

/** The block a contract appeared in: binary search on code presence (for adopted contracts). */
async function deployBlock(rpc: Rpc, address: string): Promise<number> {
  let lo = 0;
  let hi = await rpc.blockNumber();
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await rpc.code(address, mid)) === "0x") lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Governance as a command line or environment gives it (strings). */
export interface GovernanceFlags {
  /** A multisig to hand governance to (instead of a timelock). */
  governance?: string;
  /** The timelock's delay in seconds (default 86400). */
  timelockDelay?: string | number;
  /** Comma-separated proposer addresses. */
  proposers?: string;
  /** Comma-separated executor addresses (default: anyone). */
  executors?: string;
}

/** Default timelock delay of the deploy command: one day. */
export const DEFAULT_TIMELOCK_DELAY = 86_400;

/** Parses {@link GovernanceFlags} into a {@link Governance}; InvalidInputError naming the flag. */
export function governanceFromFlags(flags: GovernanceFlags): Governance {
  const list = (value: string | undefined) =>
    value === undefined
      ? undefined
      : value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
  const blank = (v: string | undefined) => v === undefined || v.trim() === "";
  if (!blank(flags.governance)) {
    if (!blank(flags.proposers) || !blank(flags.executors))
      throw new InvalidInputError(
        "--governance (a multisig) and --proposers/--executors (a timelock) exclude each other",
        {
          field: "governance",
        },
      );
    return { multisig: address(flags.governance!.trim(), "--governance") };
  }
  const rawDelay = flags.timelockDelay ?? DEFAULT_TIMELOCK_DELAY;
  const text = String(rawDelay).trim();
  if (!/^\d+$/.test(text))
    throw new InvalidInputError(`--timelock-delay must be whole seconds: ${JSON.stringify(text)}`, {
      field: "--timelock-delay",
    });
  const minDelay = durationSeconds(Number(text), "--timelock-delay", MAX_TIMELOCK_DELAY);
  const proposers = list(flags.proposers);
  const executors = list(flags.executors);
  return {
    timelock: {
      minDelay,
      proposers: proposers === undefined ? [] : addresses(proposers, "--proposers", { allowEmpty: true }),
      ...(executors === undefined ? {} : { executors: addresses(executors, "--executors") }),
    },
  };
}
