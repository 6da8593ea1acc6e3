/**
 * Deploys the three MedLedger contracts and returns the address book. Resumable and repeatable:
 * given the address book of an earlier (possibly partial) run, it keeps every contract that is
 * already deployed with the expected code and deploys only what is missing.
 *
 * @example
 * ```ts
 * import { deployMedLedger } from "medledger";
 * const book = await deployMedLedger(deployerWallet, { network: "consortium", onProgress: save });
 * ```
 */
import type { Signer } from "ethers";

import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../types/typechain/index.js";
import type { AddressBook, ContractEntry, ContractName } from "./chain/addressBook.js";
import { abiHash, TransactionError } from "./chain/client.js";

export interface DeployOptions {
  network: string;
  /** Who holds governance at first (default: the deployer; hand it off afterwards). */
  governance?: string;
  /** An earlier run's address book: contracts in it that exist on chain are reused. */
  previous?: Partial<AddressBook>;
  /** Called after each contract is deployed, with the partial book: persist it to resume after a crash. */
  onProgress?: (book: unknown) => Promise<void> | void;
  /** Overrides for every deployment transaction (e.g. { gasPrice: 0n, type: 0 } on zero-gas networks). */
  overrides?: { gasPrice?: bigint; type?: number };
}

export async function deployMedLedger(deployer: Signer, opts: DeployOptions): Promise<AddressBook> {
  const provider = deployer.provider;
  if (provider === null) throw new TransactionError("The deployer has no provider");
  const { chainId } = await provider.getNetwork();
  type PartialBook = Omit<Partial<AddressBook>, "contracts"> & {
    contracts: Partial<Record<ContractName | "TimelockController", ContractEntry>>;
  };
  const book: PartialBook = {
    format: 1,
    network: opts.network,
    chainId: Number(chainId),
    abiHash: abiHash(),
    ...opts.previous,
    contracts: { ...(opts.previous?.chainId === Number(chainId) ? opts.previous.contracts : {}) },
  };
  const governance = opts.governance ?? (await deployer.getAddress());
  const overrides = opts.overrides ?? {};

  const ensure = async (
    name: ContractName,
    deploy: () => Promise<{ address: string; hash: string | undefined }>,
  ): Promise<string> => {
    const existing = book.contracts[name];
    if (existing !== undefined && (await provider.getCode(existing.address)) !== "0x") return existing.address;
    const { address, hash } = await deploy();
    const receipt = hash === undefined ? null : await provider.getTransactionReceipt(hash);
    book.contracts[name] = {
      address,
      blockNumber: receipt?.blockNumber ?? (await provider.getBlockNumber()),
      version: "",
      ...(hash === undefined ? {} : { transactionHash: hash }),
    };
    await opts.onProgress?.(book);
    return address;
  };
  const deployed = async (c: { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string>; deploymentTransaction(): { hash: string } | null }) => {
    await c.waitForDeployment();
    return { address: await c.getAddress(), hash: c.deploymentTransaction()?.hash };
  };

  const directory = await ensure("ParticipantDirectory", async () =>
    deployed(await new ParticipantDirectory__factory(deployer).deploy(governance, overrides)),
  );
  const consents = await ensure("ConsentRegistry", async () =>
    deployed(await new ConsentRegistry__factory(deployer).deploy(directory, overrides)),
  );
  await ensure("RecordRegistry", async () =>
    deployed(await new RecordRegistry__factory(deployer).deploy(directory, consents, overrides)),
  );

  const c = book.contracts as Record<ContractName, ContractEntry>;
  c.ParticipantDirectory.version = await ParticipantDirectory__factory.connect(c.ParticipantDirectory.address, provider).version();
  c.ConsentRegistry.version = await ConsentRegistry__factory.connect(c.ConsentRegistry.address, provider).version();
  c.RecordRegistry.version = await RecordRegistry__factory.connect(c.RecordRegistry.address, provider).version();
  book.governance ??= governance;
  book.deployedAt ??= new Date().toISOString();
  await opts.onProgress?.(book);
  return book as unknown as AddressBook;
}
