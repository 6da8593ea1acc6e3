/**
 * Deploys MedLedger and hands governance over. Repeatable and resumable:
 * - given the address book of an earlier run, every contract already deployed (code present) is
 *   kept; only what is missing is deployed, so re-running on a complete deployment changes nothing;
 * - before each deployment the planned address (deployer + nonce) is saved through `onProgress`,
 *   so a crash between sending and recording adopts the contract instead of deploying it twice;
 * - the hand-off (grant to the timelock or multisig, then renounce) checks each role first.
 *
 * @example
 * ```ts
 * import { deployMedLedger } from "medledger";
 * const book = await deployMedLedger(deployer, { network: "consortium", timelock: { minDelay: 86400, proposers: [multisig] }, onProgress: save });
 * ```
 */
import { getCreateAddress } from "ethers";
import type { Signer } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  MedLedgerTimelock__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../types/typechain/index.js";
import type { AddressBook, ContractEntry } from "./chain/addressBook.js";
import { abiHash, isZeroGasNetwork, TransactionError } from "./chain/client.js";
import { InvalidInputError } from "./errors.js";

type Deployable =
  "ParticipantDirectory" | "ConsentRegistry" | "RecordRegistry" | "KeyholderRegistry" | "TimelockController";

/** An address book under construction (what `onProgress` receives and `previous` accepts). */
export interface PartialAddressBook extends Omit<Partial<AddressBook>, "contracts"> {
  contracts: Partial<Record<Deployable, ContractEntry>>;
  /** Deployments sent but not yet recorded: adopted on resume if their code is there. */
  pending?: Partial<Record<Deployable, { address: string; nonce: number }>>;
}

export interface DeployOptions {
  network: string;
  /** An earlier run's (possibly partial) address book. */
  previous?: PartialAddressBook;
  /** Called whenever the book changes: persist it, so a crashed run resumes. */
  onProgress?: (book: PartialAddressBook) => Promise<void> | void;
  /**
   * Who governs after deployment: a multisig address, or a TimelockController deployed here
   * (the default, with `proposers` defaulting to the deployer: set them for a real network).
   * `false` keeps governance with the deployer (tests only).
   */
  governance?:
    { multisig: string } | { timelock: { minDelay: number; proposers?: string[]; executors?: string[] } } | false;
  /** Overrides for every transaction (e.g. { gasPrice: 0n, type: 0 } on zero-gas networks); default: detected. */
  overrides?: { gasPrice?: bigint; type?: number };
  /** Progress lines for a CLI. */
  log?: (line: string) => void;
  /** Imports an earlier deployment's state (the migrator is the deployer) before the migration is sealed. */
  migrate?: (book: PartialAddressBook) => Promise<void>;
}

export async function deployMedLedger(deployer: Signer, opts: DeployOptions): Promise<AddressBook> {
  const provider = deployer.provider;
  if (provider === null) throw new TransactionError("The deployer has no provider");
  const log = opts.log ?? (() => undefined);
  const { chainId } = await provider.getNetwork();
  const from = await deployer.getAddress();
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
  let overrides = opts.overrides;
  overrides ??= (await isZeroGasNetwork(provider)) ? { gasPrice: 0n, type: 0 } : {};
  const save = async () => opts.onProgress?.(book);

  const ensure = async (
    name: Deployable,
    deploy: (nonce: number) => Promise<{ address: string; hash: string | undefined }>,
  ): Promise<string> => {
    const known = book.contracts[name];
    if (known !== undefined && (await provider.getCode(known.address)) !== "0x") {
      log(`${name}: kept at ${known.address}`);
      return known.address;
    }
    const pending = book.pending?.[name];
    if (pending !== undefined && (await provider.getCode(pending.address)) !== "0x") {
      // Sent by a run that crashed before recording it: adopt, do not deploy twice.
      book.contracts[name] = { address: pending.address, blockNumber: await deployBlock(pending.address), version: "" };
      delete book.pending![name];
      await save();
      log(`${name}: adopted from an interrupted run at ${pending.address}`);
      return pending.address;
    }
    const nonce = await provider.getTransactionCount(from, "pending");
    book.pending![name] = { address: getCreateAddress({ from, nonce }), nonce };
    await save();
    const { address, hash } = await deploy(nonce);
    const receipt = hash === undefined ? null : await provider.getTransactionReceipt(hash);
    book.contracts[name] = {
      address,
      blockNumber: receipt?.blockNumber ?? (await provider.getBlockNumber()),
      version: "",
      ...(hash === undefined ? {} : { transactionHash: hash }),
    };
    delete book.pending![name];
    await save();
    log(`${name}: deployed at ${address}`);
    return address;
  };
  // The block a contract appeared in: binary search on code presence (for adopted contracts).
  const deployBlock = async (address: string): Promise<number> => {
    let lo = 0;
    let hi = await provider.getBlockNumber();
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await provider.getCode(address, mid)) === "0x") lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const done = async (c: {
    waitForDeployment(): Promise<unknown>;
    getAddress(): Promise<string>;
    deploymentTransaction(): { hash: string } | null;
  }) => {
    await c.waitForDeployment();
    return { address: await c.getAddress(), hash: c.deploymentTransaction()?.hash };
  };

  const directoryAddress = await ensure("ParticipantDirectory", async (nonce) =>
    done(await new ParticipantDirectory__factory(deployer).deploy(from, from, { ...overrides, nonce })),
  );
  const consentsAddress = await ensure("ConsentRegistry", async (nonce) =>
    done(await new ConsentRegistry__factory(deployer).deploy(directoryAddress, from, { ...overrides, nonce })),
  );
  const recordsAddress = await ensure("RecordRegistry", async (nonce) =>
    done(
      await new RecordRegistry__factory(deployer).deploy(directoryAddress, consentsAddress, from, {
        ...overrides,
        nonce,
      }),
    ),
  );
  const keyholdersAddress = await ensure("KeyholderRegistry", async (nonce) =>
    done(await new KeyholderRegistry__factory(deployer).deploy(from, directoryAddress, { ...overrides, nonce })),
  );
  // Migration: import (if asked), then seal, before anyone else gets a role.
  const migratables = [
    ParticipantDirectory__factory.connect(directoryAddress, deployer),
    ConsentRegistry__factory.connect(consentsAddress, deployer),
    RecordRegistry__factory.connect(recordsAddress, deployer),
  ];
  if (opts.migrate !== undefined && !(await migratables[0]!.migrationSealed())) await opts.migrate(book);
  for (const m of migratables) {
    if (!(await m.migrationSealed())) await (await m.sealMigration(overrides)).wait();
  }

  // Governance hand-off: the new governor gets both roles, then the deployer renounces them.
  const directory = ParticipantDirectory__factory.connect(directoryAddress, deployer);
  const role = await directory.GOVERNANCE_ROLE();
  const adminRole = await directory.DEFAULT_ADMIN_ROLE();
  const governance = opts.governance ?? { timelock: { minDelay: 0 } };
  let governor = from;
  if (governance !== false) {
    if ("multisig" in governance) {
      governor = governance.multisig;
    } else {
      // Executors default to anyone (the zero address): a scheduled call runs once its delay has passed.
      const {
        minDelay,
        proposers = [from],
        executors = ["0x0000000000000000000000000000000000000000"],
      } = governance.timelock;
      governor = await ensure("TimelockController", async (nonce) =>
        done(
          await new MedLedgerTimelock__factory(deployer).deploy(minDelay, proposers, executors, {
            ...overrides,
            nonce,
          }),
        ),
      );
    }
    for (const governed of [directory, KeyholderRegistry__factory.connect(keyholdersAddress, deployer)]) {
      for (const r of [role, adminRole]) {
        if (!(await governed.hasRole(r, governor))) {
          await (await governed.grantRole(r, governor, overrides)).wait();
          log(`granted ${r === role ? "GOVERNANCE_ROLE" : "DEFAULT_ADMIN_ROLE"} to ${governor}`);
        }
      }
      // Admin last: once it is renounced the deployer can change nothing.
      for (const r of [role, adminRole]) {
        if (await governed.hasRole(r, from)) {
          await (await governed.renounceRole(r, from, overrides)).wait();
          log(`deployer renounced ${r === role ? "GOVERNANCE_ROLE" : "DEFAULT_ADMIN_ROLE"}`);
        }
      }
    }
  }

  const c = book.contracts as Record<Deployable, ContractEntry>;
  c.ParticipantDirectory.version = await directory.version();
  c.ConsentRegistry.version = await ConsentRegistry__factory.connect(c.ConsentRegistry.address, provider).version();
  c.RecordRegistry.version = await RecordRegistry__factory.connect(c.RecordRegistry.address, provider).version();
  c.KeyholderRegistry.version = await KeyholderRegistry__factory.connect(
    c.KeyholderRegistry.address,
    provider,
  ).version();
  if (c.TimelockController !== undefined) {
    c.TimelockController.version = await MedLedgerTimelock__factory.connect(
      c.TimelockController.address,
      provider,
    ).version();
  }
  book.governance = governor;
  book.deployedAt ??= new Date().toISOString();
  if (book.pending !== undefined && Object.keys(book.pending).length === 0) delete book.pending;
  await save();
  return book as unknown as AddressBook;
}
