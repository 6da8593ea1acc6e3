/**
 * The typed chain client: TypeChain bindings of one deployment, a transaction sender that is safe
 * for concurrent writes from one signer (local nonce management under a lock), works on zero-gas
 * private networks (legacy transactions, gas price 0), waits for configurable confirmations,
 * re-sends transactions dropped from the pool, and decodes every revert into a typed error.
 *
 * @example
 * ```ts
 * import { ChainClient, readAddressBook } from "medledger";
 * const chain = await ChainClient.create({ signer: wallet, addressBook: await readAddressBook("deployments/localhost.json") });
 * const { receipt, events } = await chain.send(chain.consents, "grant", [subject, terms]);
 * ```
 */
import { keccak256, toUtf8Bytes } from "ethers";
import type {
  BaseContract,
  ContractTransactionReceipt,
  LogDescription,
  Provider,
  Signer,
  TransactionReceipt,
  TransactionRequest,
  Interface,
} from "ethers";

import { ErrorCodes, MedLedgerError } from "../errors.js";
import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";
import { CONTRACT_NAMES } from "./addressBook.js";
import type { AddressBook, ContractName } from "./addressBook.js";
import { decodeContractError } from "./errors.js";

/** Contract versions this SDK speaks (same major version required). */
export const SUPPORTED_VERSIONS: Record<ContractName, string> = {
  ParticipantDirectory: "1.0.0",
  ConsentRegistry: "1.0.0",
  RecordRegistry: "1.0.0",
};

/**
 * Whether the network runs at zero gas price (QBFT consortium networks with a zero base fee and
 * `min-gas-price=0`): then transactions are sent as legacy transactions with gas price 0.
 */
export async function isZeroGasNetwork(provider: Provider): Promise<boolean> {
  const [fee, block] = await Promise.all([provider.getFeeData(), provider.getBlock("latest")]);
  return fee.gasPrice === 0n || block?.baseFeePerGas === 0n;
}

/** keccak256 over the three contracts' ABIs, as recorded in address books. */
export function abiHash(): string {
  const abis = [ParticipantDirectory__factory.abi, ConsentRegistry__factory.abi, RecordRegistry__factory.abi];
  return keccak256(toUtf8Bytes(JSON.stringify(abis)));
}

/** A deployment does not match this SDK (chain id, code, versions). */
export class DeploymentMismatchError extends MedLedgerError {
  override name = "DeploymentMismatchError";
  constructor(shortMessage: string, details: string) {
    super(ErrorCodes.DEPLOYMENT_MISMATCH, shortMessage, { details });
  }
}

/** A transaction failed outside the contract (network down, dropped and not re-sendable, timeout). */
export class TransactionError extends MedLedgerError {
  override name = "TransactionError";
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(ErrorCodes.TRANSACTION_FAILED, shortMessage, options);
  }
}

export interface ChainClientOptions {
  /** The account that signs writes; must be connected to a provider. */
  signer: Signer;
  addressBook: AddressBook;
  /** Blocks to wait after inclusion (default 1: the inclusion itself). */
  confirmations?: number;
  /** "auto" (default) detects zero-gas networks and sends legacy transactions with gas price 0. */
  gasPrice?: "auto" | bigint;
  /** How long to wait for a receipt before checking whether the transaction was dropped (ms). */
  dropCheckMs?: number;
  /** Overall timeout for one transaction (ms, default 10 minutes). */
  timeoutMs?: number;
  /** Skip the version() check (only for tools that deploy). */
  skipVersionCheck?: boolean;
}

/** A mined write: its receipt and the events it emitted, decoded. */
export interface WriteResult {
  receipt: TransactionReceipt;
  events: LogDescription[];
}

const INTERFACES: Interface[] = [
  ParticipantDirectory__factory.createInterface(),
  ConsentRegistry__factory.createInterface(),
  RecordRegistry__factory.createInterface(),
];

export class ChainClient {
  readonly signer: Signer;
  readonly provider: Provider;
  readonly addressBook: AddressBook;
  readonly directory: ParticipantDirectory;
  readonly consents: ConsentRegistry;
  readonly records: RecordRegistry;
  readonly chainId: bigint;
  readonly account: string;
  private readonly confirmations: number;
  private readonly dropCheckMs: number;
  private readonly timeoutMs: number;
  private readonly legacyZeroGas: boolean;
  private nextNonce: number | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(
    opts: ChainClientOptions,
    provider: Provider,
    chainId: bigint,
    account: string,
    zeroGas: boolean,
  ) {
    this.signer = opts.signer;
    this.provider = provider;
    this.addressBook = opts.addressBook;
    this.chainId = chainId;
    this.account = account;
    this.confirmations = opts.confirmations ?? 1;
    this.dropCheckMs = opts.dropCheckMs ?? 15_000;
    this.timeoutMs = opts.timeoutMs ?? 600_000;
    this.legacyZeroGas = zeroGas;
    const c = opts.addressBook.contracts;
    this.directory = ParticipantDirectory__factory.connect(c.ParticipantDirectory.address, opts.signer);
    this.consents = ConsentRegistry__factory.connect(c.ConsentRegistry.address, opts.signer);
    this.records = RecordRegistry__factory.connect(c.RecordRegistry.address, opts.signer);
  }

  /** Connects and checks the deployment: chain id, code present, contract versions. */
  static async create(opts: ChainClientOptions): Promise<ChainClient> {
    const provider = opts.signer.provider;
    if (provider === null) throw new TransactionError("The signer has no provider");
    const { chainId } = await provider.getNetwork();
    if (chainId !== BigInt(opts.addressBook.chainId)) {
      throw new DeploymentMismatchError(
        "The address book is for another chain",
        `address book chain id ${opts.addressBook.chainId}, node chain id ${chainId}`,
      );
    }
    const zeroGas =
      opts.gasPrice === undefined || opts.gasPrice === "auto" ? await isZeroGasNetwork(provider) : opts.gasPrice === 0n;
    const client = new ChainClient(opts, provider, chainId, await opts.signer.getAddress(), zeroGas);
    if (opts.skipVersionCheck !== true) await client.checkVersions();
    return client;
  }

  /** Verifies that every contract answers version() with a supported major version. */
  async checkVersions(): Promise<Record<ContractName, string>> {
    const found = {} as Record<ContractName, string>;
    const contracts: Record<ContractName, { version(): Promise<string> }> = {
      ParticipantDirectory: this.directory,
      ConsentRegistry: this.consents,
      RecordRegistry: this.records,
    };
    for (const name of CONTRACT_NAMES) {
      const address = this.addressBook.contracts[name].address;
      if ((await this.provider.getCode(address)) === "0x") {
        throw new DeploymentMismatchError(`No ${name} contract at ${address}`, `chain id ${this.chainId}`);
      }
      const version = await contracts[name].version();
      if (version.split(".")[0] !== SUPPORTED_VERSIONS[name].split(".")[0]) {
        throw new DeploymentMismatchError(
          `${name} version ${version} is not supported`,
          `this SDK supports ${SUPPORTED_VERSIONS[name]}`,
        );
      }
      found[name] = version;
    }
    return found;
  }

  /**
   * Sends `contract.method(...args)`: estimates gas first (a revert surfaces here as a typed
   * error and consumes no nonce), assigns the nonce under a lock, waits for confirmations, re-sends
   * if dropped, and returns the receipt with the decoded events.
   */
  async send<C extends BaseContract>(contract: C, method: string, args: readonly unknown[]): Promise<WriteResult> {
    const fragment = contract.interface.getFunction(method);
    if (fragment === null) throw new TransactionError(`No function ${method}`);
    const request: TransactionRequest = {
      to: await contract.getAddress(),
      data: contract.interface.encodeFunctionData(fragment, args),
      from: this.account,
    };
    return this.sendRequest(request);
  }

  /** Estimates the gas of `contract.method(...args)`; reverts become typed errors. */
  async estimateGas<C extends BaseContract>(contract: C, method: string, args: readonly unknown[]): Promise<bigint> {
    const request: TransactionRequest = {
      to: await contract.getAddress(),
      data: contract.interface.encodeFunctionData(method, args),
      from: this.account,
    };
    try {
      return await this.provider.estimateGas(request);
    } catch (err) {
      throw decodeContractError(err);
    }
  }

  /** Runs a read, decoding reverts into typed errors. */
  async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw decodeContractError(err);
    }
  }

  private async sendRequest(request: TransactionRequest): Promise<WriteResult> {
    let gasLimit: bigint;
    try {
      gasLimit = await this.provider.estimateGas(request);
    } catch (err) {
      throw decodeContractError(err);
    }
    // 20% headroom: state may change between estimate and inclusion (other writers).
    const tx: TransactionRequest = { ...request, gasLimit: (gasLimit * 12n) / 10n + 10_000n, chainId: this.chainId };
    if (this.legacyZeroGas) {
      tx.type = 0;
      tx.gasPrice = 0n;
    }
    const sent = await this.withLock(async () => {
      for (let attempt = 0; ; attempt++) {
        const nonce = this.nextNonce ?? (await this.provider.getTransactionCount(this.account, "pending"));
        try {
          const response = await this.signer.sendTransaction({ ...tx, nonce });
          this.nextNonce = nonce + 1;
          return { response, nonce };
        } catch (err) {
          // The node refused it: resync the nonce from the node. Our local count can be stale when
          // another process uses the account or the node lost or rewound state; retry once.
          this.nextNonce = undefined;
          if (attempt === 0 && isNonceError(err)) continue;
          throw decodeContractError(err);
        }
      }
    });
    const receipt = await this.waitFor(sent.response.hash, { ...tx, nonce: sent.nonce });
    if (receipt.status !== 1) {
      // Replay the call at the mined block to get the revert reason.
      try {
        await this.provider.call({ ...request, blockTag: receipt.blockNumber });
      } catch (err) {
        throw decodeContractError(err);
      }
      throw new TransactionError("Transaction reverted", { details: receipt.hash });
    }
    return { receipt, events: this.decodeLogs(receipt) };
  }

  /** Waits for the receipt; if the node forgot the transaction (dropped), sends it again. */
  private async waitFor(hash: string, tx: TransactionRequest): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.timeoutMs;
    let currentHash = hash;
    while (Date.now() < deadline) {
      let receipt: TransactionReceipt | null;
      try {
        receipt = await this.provider.waitForTransaction(
          currentHash,
          this.confirmations,
          Math.min(this.dropCheckMs, deadline - Date.now()),
        );
      } catch (err) {
        if (!isTimeout(err)) throw new TransactionError("Waiting for the transaction failed", { cause: err });
        receipt = null;
      }
      if (receipt !== null) return receipt;
      const known = await this.provider.getTransaction(currentHash).catch(() => null);
      if (known === null) {
        // Dropped from the pool (or the node restarted without it): same nonce, same call.
        const again = await this.signer.sendTransaction(tx).catch((err: unknown) => {
          throw new TransactionError("Re-sending a dropped transaction failed", { cause: err });
        });
        currentHash = again.hash;
      }
    }
    throw new TransactionError("Timed out waiting for the transaction", { details: currentHash });
  }

  /** Decodes the MedLedger events in a receipt. */
  decodeLogs(receipt: TransactionReceipt | ContractTransactionReceipt): LogDescription[] {
    const out: LogDescription[] = [];
    for (const log of receipt.logs) {
      for (const iface of INTERFACES) {
        const parsed = iface.parseLog(log);
        if (parsed !== null) {
          out.push(parsed);
          break;
        }
      }
    }
    return out;
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function isNonceError(err: unknown): boolean {
  const info = (err as { info?: unknown }).info;
  const text = err instanceof Error ? `${err.message} ${JSON.stringify(info ?? "")}` : String(err);
  return (
    /nonce/i.test(text) ||
    (typeof err === "object" && err !== null && (err as { code?: string }).code === "NONCE_EXPIRED")
  );
}

function isTimeout(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "TIMEOUT";
}

/** The first event named `name` in a write result; throws if absent. */
export function eventOf(result: WriteResult, name: string): LogDescription {
  const event = result.events.find((e) => e.name === name);
  if (event === undefined)
    throw new TransactionError(`Expected event ${name} in the receipt`, { details: result.receipt.hash });
  return event;
}
