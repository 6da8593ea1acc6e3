/**
 * The typed chain client of one deployment: the TypeChain bindings of the four contracts (reads
 * cost one `eth_call` each and revert as typed errors), and `send`, which takes a populated
 * TypeChain call and returns its receipt and decoded events (see chain/transactions.ts for how it
 * estimates, assigns nonces, prices, signs, broadcasts and waits).
 *
 * `ChainClient.create` checks the deployment before anything else: the chain id, that each
 * address holds the expected contract's code, `version()`, and the wiring between the contracts.
 *
 * @example
 * ```ts
 * import { ChainClient } from "medledger";
 * import { readAddressBook } from "medledger/node";
 * const chain = await ChainClient.create({ signer: wallet, addressBook: await readAddressBook("deployments/localhost.json") });
 * const { receipt, events } = await chain.send(chain.consents.revoke.populateTransaction(subject, consentId));
 * ```
 */
import type { BaseContract, ContractTransaction, LogDescription, Signer } from "ethers";
import { keccak256, toUtf8Bytes } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type {
  ConsentRegistry,
  KeyholderRegistry,
  ParticipantDirectory,
  RecordRegistry,
} from "../../types/typechain/index.js";
import type { TypedContractMethod } from "../../types/typechain/common.js";
import { DeploymentMismatchError, InvalidInputError, TransactionError } from "../errors.js";
import { decodeLog } from "./events.js";
import type { AddressBook } from "./addressBook.js";
import { validateAddressBook } from "./addressBook.js";
import { readRunner, rpcOf } from "./rpc.js";
import type { Rpc, RpcLog, RpcReceipt } from "./rpc.js";
import { TransactionSender, detectZeroGas } from "./transactions.js";
import type { FeeMode } from "./transactions.js";
import { verifyDeployment } from "./verify.js";

export type { RpcReceipt as TxReceipt } from "./rpc.js";

/** keccak256 over the four contracts' ABIs, as recorded in address books. */
export function abiHash(): string {
  const abis = [
    ParticipantDirectory__factory.abi,
    ConsentRegistry__factory.abi,
    RecordRegistry__factory.abi,
    KeyholderRegistry__factory.abi,
  ];
  return keccak256(toUtf8Bytes(JSON.stringify(abis)));
}

export interface ChainClientOptions {
  /** The account that signs writes; must be connected to a provider. */
  signer: Signer;
  addressBook: AddressBook;
  /** Blocks to wait after inclusion (default 1: the inclusion itself). */
  confirmations?: number;
  /** "auto" (default) detects zero-gas networks (legacy transactions at gas price 0) and prices others from the latest block. */
  gasPrice?: "auto" | bigint;
  /** How long without a receipt before checking whether the transaction was dropped (ms, default 15 s). */
  dropCheckMs?: number;
  /** Overall time limit for one transaction (ms, default 10 minutes). */
  timeoutMs?: number;
  /** The longest pause between receipt polls (ms, default 1000). */
  pollMs?: number;
  /** Check code, versions and wiring at start-up (default true). */
  verifyDeployment?: boolean;
}

/** A mined write: its receipt and the MedLedger events it emitted, decoded. */
export interface Sent {
  receipt: RpcReceipt;
  events: LogDescription[];
}

/**
 * What every write of the SDK returns: the decoded result and the receipt of its transaction
 * (`R` includes null only for idempotent writes that may find their work already done).
 */
export interface Write<T, R extends RpcReceipt | null = RpcReceipt> {
  value: T;
  receipt: R;
}

/** The names of a contract's TypeChain methods, and their argument lists. */
type MethodName<C> = {
  [K in keyof C]: C[K] extends { populateTransaction(...args: never[]): unknown } ? K : never;
}[keyof C] &
  string;
type ArgsOf<M> = M extends { populateTransaction(...args: infer P): unknown } ? P : never;

function request(populated: ContractTransaction): { to: string; data: string; value?: bigint } {
  if (typeof populated?.to !== "string" || typeof populated.data !== "string")
    throw new InvalidInputError("send() takes a populated call: contract.method.populateTransaction(...)");
  return { to: populated.to, data: populated.data, value: populated.value };
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidInputError(`Expected a positive integer: ${field} = ${String(value)}`, { field });
  return value;
}

export class ChainClient {
  readonly signer: Signer;
  readonly rpc: Rpc;
  readonly addressBook: AddressBook;
  readonly directory: ParticipantDirectory;
  readonly consents: ConsentRegistry;
  readonly records: RecordRegistry;
  readonly keyholders: KeyholderRegistry;
  readonly chainId: bigint;
  readonly account: string;
  readonly #sender: TransactionSender;

  private constructor(signer: Signer, book: AddressBook, rpc: Rpc, account: string, sender: TransactionSender) {
    this.signer = signer;
    this.rpc = rpc;
    this.addressBook = book;
    this.chainId = BigInt(book.chainId);
    this.account = account;
    this.#sender = sender;
    const runner = readRunner(rpc, account);
    const c = book.contracts;
    this.directory = ParticipantDirectory__factory.connect(c.ParticipantDirectory.address, runner);
    this.consents = ConsentRegistry__factory.connect(c.ConsentRegistry.address, runner);
    this.records = RecordRegistry__factory.connect(c.RecordRegistry.address, runner);
    this.keyholders = KeyholderRegistry__factory.connect(c.KeyholderRegistry.address, runner);
  }

  /** Connects and checks the deployment (chain id, code, versions, wiring); see the module comment. */
  static async create(opts: ChainClientOptions): Promise<ChainClient> {
    if (typeof opts !== "object" || opts === null) throw new InvalidInputError("ChainClient.create needs options");
    const book = validateAddressBook(opts.addressBook);
    const provider = opts.signer?.provider;
    if (provider === null || provider === undefined)
      throw new InvalidInputError("The signer has no provider: connect it (wallet.connect(provider))", {
        field: "signer",
      });
    const rpc = rpcOf(provider);
    const chainId = await rpc.chainId();
    if (chainId !== BigInt(book.chainId))
      throw new DeploymentMismatchError("The address book is for another chain", {
        details: `address book chain id ${book.chainId}, node chain id ${chainId}`,
      });
    if (opts.verifyDeployment !== false) await verifyDeployment(rpc, book);
    const gasPrice = opts.gasPrice ?? "auto";
    if (gasPrice !== "auto" && typeof gasPrice !== "bigint")
      throw new InvalidInputError('gasPrice must be "auto" or a bigint', { field: "gasPrice" });
    const fees: FeeMode =
      gasPrice === "auto" ? ((await detectZeroGas(rpc)) ? "zero" : "market") : gasPrice === 0n ? "zero" : { gasPrice };
    const account = await opts.signer.getAddress();
    const sender = new TransactionSender({
      signer: opts.signer,
      account,
      rpc,
      chainId,
      fees,
      confirmations: positiveInteger(opts.confirmations, 1, "confirmations"),
      dropCheckMs: positiveInteger(opts.dropCheckMs, 15_000, "dropCheckMs"),
      timeoutMs: positiveInteger(opts.timeoutMs, 600_000, "timeoutMs"),
      pollMs: positiveInteger(opts.pollMs, 1_000, "pollMs"),
    });
    return new ChainClient(opts.signer, book, rpc, account, sender);
  }

  /**
   * Sends a populated TypeChain call (`contract.method.populateTransaction(...)`): estimates gas
   * first (a revert is a typed error and uses no nonce), sends, waits, and returns the receipt
   * with the decoded events.
   *
   * @example
   * ```ts
   * const { receipt } = await chain.send(chain.records.eraseRecord.populateTransaction(subject, recordId));
   * ```
   */
  async send(call: ContractTransaction | Promise<ContractTransaction>, opts?: { gas?: bigint }): Promise<Sent>;
  /**
   * @deprecated Build the call with the TypeChain method instead:
   * `chain.send(contract.method.populateTransaction(...args))`. Kept for existing callers; the
   * method name and arguments are still type-checked.
   */
  async send<C extends BaseContract, M extends MethodName<C>>(
    contract: C,
    method: M,
    args: ArgsOf<C[M]>,
  ): Promise<Sent>;
  async send(
    call: ContractTransaction | Promise<ContractTransaction> | BaseContract,
    method?: string | { gas?: bigint },
    args?: readonly unknown[],
  ): Promise<Sent> {
    const populated =
      typeof method === "string"
        ? await (call as unknown as Record<string, TypedContractMethod>)[method]!.populateTransaction(...(args ?? []))
        : await (call as ContractTransaction | Promise<ContractTransaction>);
    const receipt = await this.#sender.send(request(populated), typeof method === "object" ? method : {});
    return { receipt, events: this.decodeLogs(receipt.logs) };
  }

  /** The gas a populated call needs; a revert is a typed error (nothing is sent). */
  async estimate(call: ContractTransaction | Promise<ContractTransaction>): Promise<bigint> {
    return this.#sender.estimate(request(await call));
  }

  /** Decodes the MedLedger events among `logs`. */
  decodeLogs(logs: readonly RpcLog[]): LogDescription[] {
    return logs.map(decodeLog).filter((e): e is LogDescription => e !== null);
  }
}

/** The first event named `name` in a write result; throws if absent. */
export function eventOf(result: Sent, name: string): LogDescription {
  const event = result.events.find((e) => e.name === name);
  if (event === undefined)
    throw new TransactionError(`Expected event ${name} in the receipt`, { details: result.receipt.hash });
  return event;
}
