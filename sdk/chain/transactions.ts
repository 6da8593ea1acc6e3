/**
 * Sends transactions for one account: the only place the SDK (ChainClient and deploy alike)
 * signs and broadcasts.
 *
 * - **Revert first, nonce later.** The gas estimate runs first: a call the contract would refuse
 *   becomes a typed error (`AccessDeniedError`, `ContractRevertError`) and uses no nonce.
 * - **Nonces without a cache.** The first nonce is read with `eth_getTransactionCount(…, "pending")`
 *   straight from the node (ethers' 250 ms request cache once served a stale one); later ones are
 *   counted locally under a lock, so many concurrent writes from one account never collide; a
 *   node refusal resyncs from the node.
 * - **Fees without round trips on zero-gas networks.** Legacy transactions at gas price 0 (QBFT
 *   consortium networks); elsewhere EIP-1559 fees from the latest block, or a fixed gas price.
 * - **Local signing.** A local wallet (ethers `Wallet`) signs in process and the raw transaction
 *   is broadcast with one `eth_sendRawTransaction`; other signers (node accounts, browser
 *   wallets) use their own `sendTransaction`.
 * - **Receipts.** Polled from immediately after broadcast (instant-mining nodes answer at once),
 *   backing off to `pollMs`; `confirmations` blocks; a transaction dropped from the pool is
 *   re-broadcast with the same nonce; a reverted one is replayed to decode the reason.
 *
 * @internal
 */
import { keccak256 } from "ethers";
import type { Signer, TransactionRequest } from "ethers";

import { MedLedgerError, TransactionError } from "../errors.js";
import { toSdkError } from "./errors.js";
import type { Rpc, RpcReceipt, RpcRequest } from "./rpc.js";

/** How transactions pay for gas. */
export type FeeMode = "zero" | "market" | { gasPrice: bigint };

export interface SenderOptions {
  signer: Signer;
  account: string;
  rpc: Rpc;
  chainId: bigint;
  fees: FeeMode;
  /** Blocks to wait after inclusion (1: the inclusion itself). */
  confirmations: number;
  /** How long without a receipt before checking whether the transaction was dropped (ms). */
  dropCheckMs: number;
  /** Overall time limit for one transaction (ms). */
  timeoutMs: number;
  /** The longest pause between receipt polls (ms). */
  pollMs: number;
}

/** A request to send: a call (`to` + data) or a contract creation (data only). */
export interface SendRequest {
  to?: string;
  data: string;
  value?: bigint;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e));
    const info = (e as { info?: unknown }).info;
    if (info !== undefined) parts.push(JSON.stringify(info, (_k, v: unknown) => (typeof v === "bigint" ? `${v}` : v)));
  }
  return parts.join(" | ");
}

function hasCode(err: unknown, code: string): boolean {
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/** The node refused the nonce (too low, already used, replacement underpriced). */
export function isNonceError(err: unknown): boolean {
  return hasCode(err, "NONCE_EXPIRED") || /nonce|replacement transaction underpriced/i.test(errorText(err));
}

/** The node already has this very transaction. */
function isAlreadyKnown(err: unknown): boolean {
  return /already known|known transaction|already imported/i.test(errorText(err));
}

/** Whether `signer` is a local wallet that signs in process (ethers BaseWallet and subclasses). */
function isLocalWallet(signer: Signer): boolean {
  return (
    typeof (signer as { signingKey?: unknown }).signingKey === "object" && typeof signer.signTransaction === "function"
  );
}

export class TransactionSender {
  readonly account: string;
  readonly rpc: Rpc;
  readonly #o: SenderOptions;
  readonly #local: boolean;
  #nextNonce: number | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(options: SenderOptions) {
    this.#o = options;
    this.account = options.account;
    this.rpc = options.rpc;
    this.#local = isLocalWallet(options.signer);
  }

  /** The gas a call needs; a revert is a typed error (nothing is sent). */
  async estimate(request: SendRequest): Promise<bigint> {
    try {
      return await this.rpc.estimateGas({
        from: this.account,
        to: request.to,
        data: request.data,
        value: request.value,
      });
    } catch (err) {
      throw toSdkError(err, "Estimating gas failed", this.rpc.url);
    }
  }

  /**
   * Estimates (unless `gas` gives an estimate made moments ago for an equivalent call), signs,
   * sends and waits; returns the receipt of a successful transaction.
   */
  async send(
    request: SendRequest,
    opts: { gas?: bigint; onSent?: (hash: string) => Promise<void> | void } = {},
  ): Promise<RpcReceipt> {
    const call: RpcRequest = { from: this.account, to: request.to, data: request.data, value: request.value };
    const gas = opts.gas ?? (await this.estimate(request));
    // Headroom: state may change between the estimate and inclusion (other writers).
    const tx: TransactionRequest = {
      to: request.to ?? null,
      data: request.data,
      value: request.value ?? 0n,
      gasLimit: (gas * 12n) / 10n + 10_000n,
      chainId: this.#o.chainId,
      ...(await this.#fees()),
    };
    const sent = await this.#withLock(() => this.#broadcast(tx));
    await opts.onSent?.(sent.hash);
    const receipt = await this.#wait(sent.hash, sent.resend);
    if (receipt.status !== 1) {
      // Replay the call at the mined block to get the revert reason.
      try {
        await this.rpc.call(call, receipt.blockNumber);
      } catch (err) {
        throw toSdkError(err, "Transaction reverted", this.rpc.url);
      }
      throw new TransactionError("Transaction reverted", { details: receipt.hash });
    }
    return receipt;
  }

  /** The nonce the next transaction will use (read from the node unless counted locally). */
  async peekNonce(): Promise<number> {
    return this.#withLock(async () => {
      this.#nextNonce ??= await this.rpc.nonce(this.account, "pending");
      return this.#nextNonce;
    });
  }

  async #fees(): Promise<Partial<TransactionRequest>> {
    const fees = this.#o.fees;
    if (fees === "zero") return { type: 0, gasPrice: 0n };
    if (typeof fees === "object") return { type: 0, gasPrice: fees.gasPrice };
    const block = await this.rpc.latestBlock();
    if (block.baseFeePerGas === undefined) return { type: 0, gasPrice: await this.rpc.gasPrice() };
    const tip = await this.rpc.maxPriorityFeePerGas().catch(() => 1_000_000_000n);
    // Twice the base fee: stays valid through several full blocks of base fee increases.
    return { type: 2, maxPriorityFeePerGas: tip, maxFeePerGas: block.baseFeePerGas * 2n + tip };
  }

  /** Assigns a nonce and hands the transaction to the node; returns its hash and a re-sender. */
  async #broadcast(tx: TransactionRequest): Promise<{ hash: string; resend: () => Promise<void> }> {
    for (let attempt = 0; ; attempt++) {
      let nonce: number;
      try {
        nonce = this.#nextNonce ?? (await this.rpc.nonce(this.account, "pending"));
      } catch (err) {
        throw toSdkError(err, "Reading the account nonce failed", this.rpc.url);
      }
      const full: TransactionRequest = { ...tx, nonce };
      try {
        const sent = this.#local ? await this.#sendSigned(full) : await this.#sendThroughSigner(full);
        this.#nextNonce = nonce + 1;
        return sent;
      } catch (err) {
        // The node refused it: resync the nonce from the node (another process may use the
        // account, or the node lost or rewound state); retry once.
        this.#nextNonce = undefined;
        if (attempt === 0 && isNonceError(err)) continue;
        throw toSdkError(err, "Sending the transaction failed", this.rpc.url);
      }
    }
  }

  async #sendSigned(tx: TransactionRequest): Promise<{ hash: string; resend: () => Promise<void> }> {
    const signed = await this.#o.signer.signTransaction({ ...tx, from: this.account });
    // The transaction hash is keccak256 of the signed serialization.
    const hash = keccak256(signed);
    const broadcast = async () => {
      try {
        await this.rpc.sendRaw(signed);
      } catch (err) {
        if (!isAlreadyKnown(err)) throw err;
      }
    };
    await broadcast();
    return { hash, resend: broadcast };
  }

  async #sendThroughSigner(tx: TransactionRequest): Promise<{ hash: string; resend: () => Promise<void> }> {
    const response = await this.#o.signer.sendTransaction(tx);
    return {
      hash: response.hash,
      resend: async () => {
        await this.#o.signer.sendTransaction(tx).catch((err: unknown) => {
          if (!isAlreadyKnown(err) && !isNonceError(err)) throw err;
        });
      },
    };
  }

  /** Polls for the receipt (and confirmations); re-broadcasts if the node forgot the transaction. */
  async #wait(hash: string, resend: () => Promise<void>): Promise<RpcReceipt> {
    const { timeoutMs, dropCheckMs, pollMs, confirmations } = this.#o;
    const start = Date.now();
    let lastDropCheck = start;
    let pause = 0;
    while (Date.now() - start < timeoutMs) {
      if (pause > 0) await sleep(pause);
      pause = pause === 0 ? 5 : Math.min(pollMs, pause * 2);
      let receipt: RpcReceipt | null;
      try {
        receipt = await this.rpc.receipt(hash);
      } catch (err) {
        throw toSdkError(err, "Waiting for the transaction failed", this.rpc.url);
      }
      if (receipt !== null) {
        if (confirmations <= 1) return receipt;
        const head = await this.rpc.blockNumber();
        if (head - receipt.blockNumber + 1 >= confirmations) {
          const again = await this.rpc.receipt(hash);
          // Still in the same block: not reorganised away meanwhile.
          if (again !== null && again.blockHash === receipt.blockHash) return again;
        }
        continue;
      }
      if (Date.now() - lastDropCheck >= dropCheckMs) {
        lastDropCheck = Date.now();
        if (!(await this.rpc.knowsTransaction(hash))) {
          // Dropped from the pool (or the node restarted without it): same nonce, same call.
          try {
            await resend();
          } catch (err) {
            if (err instanceof MedLedgerError) throw err;
            throw new TransactionError("Re-sending a dropped transaction failed", { cause: err, details: hash });
          }
        }
      }
    }
    throw new TransactionError("Timed out waiting for the transaction", { details: hash });
  }

  #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}

/** Whether the network runs at zero gas price (QBFT consortium networks): 1–2 calls, once. */
export async function detectZeroGas(rpc: Rpc): Promise<boolean> {
  const block = await rpc.latestBlock();
  if (block.baseFeePerGas === 0n) return true;
  return (await rpc.gasPrice()) === 0n;
}
