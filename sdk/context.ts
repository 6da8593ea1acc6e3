/**
 * The one explicit context every action takes, viem-style: `put(ctx, params)`, `grant(ctx,
 * params)`. It holds what a participant acts with (the chain client for its signer, storage, the
 * journal, the key custody, its X25519 key) and small per-participant state (puts in flight,
 * consent hints learned from its own transactions). `MedLedger` is a thin facade over it.
 *
 * @example
 * ```ts
 * import { createLedgerContext, records } from "medledger";
 * // The keyholders governance registered in KeyholderRegistry, over HTTP:
 * const ctx = await createLedgerContext({ signer, encryptionKey, addressBook, storage, keyholders: "network" });
 * const recordId = await records.put(ctx, { subject, content: "…", category: "NOTES", mediaType: "text/plain" });
 * ```
 */
import type { Signer } from "ethers";

import { ChainClient } from "./chain/client.js";
import type { ChainClientOptions } from "./chain/client.js";
import type { AddressBook } from "./chain/addressBook.js";
import type { CipherBackend, EnvelopeContext } from "./crypto/index.js";
import { InvalidInputError } from "./errors.js";
import { contractChainView } from "./keyholder/chainContracts.js";
import { KeyholderNetwork } from "./keyholder/client.js";
import type { KeyCustody } from "./keyholder/client.js";
import type { Keyholder } from "./keyholder/keyholder.js";
import { isKeyCustody, networkCustody } from "./records/custody.js";
import type { ReaderKeys, RecordCustody } from "./records/custody.js";
import { memoryJournal } from "./records/journal.js";
import type { Journal } from "./records/journal.js";
import { recordContext, slotCustody } from "./records/slot-custody.js";
import type { BlobStore } from "./storage/index.js";
import type { ConsentId, RecordId, SubjectId } from "./types.js";
import { bytesOf, integer, object } from "./validate.js";

export interface MedLedgerOptions {
  /** The participant's Ethereum account, connected to a provider. */
  signer: Signer;
  /** The participant's X25519 private key (its public key is registered on chain) and its version. */
  encryptionKey?: { privateKey: Uint8Array; keyVersion: number };
  addressBook: AddressBook;
  /** Where sealed envelopes are stored (filesystem, IPFS, memory, custom). */
  storage: BlobStore;
  /**
   * Who keeps records' data keys. Give one of:
   * - `keyholders: "network"`: the keyholder network governance registered in KeyholderRegistry
   *   (members, X25519 keys, endpoints, threshold k read from the chain), over HTTP with default
   *   timeouts. The usual choice for an app;
   * - `custody`: a `KeyholderNetwork` you built (other transports, e.g. `startLocalKeyholders`'
   *   in-process cores, or other timeouts), or any `RecordCustody`;
   * - `keyholders`: a Map of in-process keyholders per custodian organization (0: subject-held
   *   records): the embedded slot custody of the tests, without sealed labels.
   * `custody` wins when both are given (options copied from another participant keep working).
   */
  custody?: KeyCustody | RecordCustody;
  keyholders?: "network" | ReadonlyMap<number, Keyholder>;
  /** The writer's journal (idempotent, crash-safe puts). Default: in memory. */
  journal?: Journal;
  backend?: CipherBackend;
  chunkSize?: number;
  chain?: Omit<ChainClientOptions, "signer" | "addressBook">;
}

/** Per-participant state the actions share (never needed by callers). */
export interface LedgerState {
  /** Puts in flight by idempotency key: the same write issued twice at once joins the first. */
  readonly inFlight: Map<string, Promise<RecordId>>;
  /** Consent hints learned from this participant's own anchors and reads ("subject/category[/purpose]"). */
  readonly hints: Map<string, ConsentId>;
}

/** What every action takes. */
export interface LedgerContext {
  readonly chain: ChainClient;
  readonly storage: BlobStore;
  readonly journal: Journal;
  /** The seam to whatever keeps data keys (records/custody.ts); `custody.kind` says which. */
  readonly custody: RecordCustody;
  readonly encryptionKey: { privateKey: Uint8Array; keyVersion: number } | undefined;
  readonly backend: CipherBackend | undefined;
  readonly chunkSize: number | undefined;
  readonly state: LedgerState;
}

function checkOptions(opts: MedLedgerOptions): void {
  object(opts, "options");
  const storage = opts.storage as Partial<BlobStore> | undefined;
  if (typeof storage?.put !== "function" || typeof storage.getBytes !== "function")
    throw new InvalidInputError("options.storage must be a BlobStore (filesystem(), memory(), ipfs(), custom())", {
      field: "storage",
    });
  if (opts.custody !== undefined) {
    const c = object(opts.custody, "custody");
    if (!isRecordCustody(c) && !isKeyCustody(c))
      throw new InvalidInputError(
        "options.custody must be a KeyholderNetwork (deposit, depositTermsOpening, preflight, release, erase, retire) or a RecordCustody",
        { field: "custody" },
      );
  } else if (opts.keyholders !== "network" && !(opts.keyholders instanceof Map))
    throw new InvalidInputError(
      'options.keyholders ("network": the keyholders registered on chain; or a Map of organization id → in-process keyholder) or options.custody (a KeyholderNetwork) is required',
      { field: "keyholders" },
    );
  if (opts.encryptionKey !== undefined) {
    object(opts.encryptionKey, "encryptionKey");
    bytesOf(opts.encryptionKey.privateKey, 32, "encryptionKey.privateKey");
    integer(opts.encryptionKey.keyVersion, "encryptionKey.keyVersion", 1n, 0xffffffffn);
  }
}

function isRecordCustody(c: object): c is RecordCustody {
  const kind = (c as { kind?: unknown }).kind;
  return (kind === "network" || kind === "slots") && typeof (c as { deposit?: unknown }).deposit === "function";
}

/** The custody the options ask for (see {@link MedLedgerOptions.custody}). */
async function custodyOf(opts: MedLedgerOptions, chain: ChainClient): Promise<RecordCustody> {
  const c = opts.custody;
  if (c !== undefined) return isRecordCustody(c) ? c : networkCustody(c);
  if (opts.keyholders instanceof Map) return slotCustody(chain, opts.keyholders);
  const provider = opts.signer.provider;
  if (provider === null)
    throw new InvalidInputError('keyholders: "network" needs a signer connected to a provider', { field: "signer" });
  // The trust anchor: the set, keys, endpoints and k that governance registered in KeyholderRegistry.
  const view = await contractChainView({ provider, addressBook: opts.addressBook });
  return networkCustody(await KeyholderNetwork.create({ chain: view }));
}

/** Connects (checking the deployment) and builds the context for one participant. */
export async function createLedgerContext(opts: MedLedgerOptions): Promise<LedgerContext> {
  checkOptions(opts);
  const chain = await ChainClient.create({ ...opts.chain, signer: opts.signer, addressBook: opts.addressBook });
  return {
    chain,
    storage: opts.storage,
    journal: opts.journal ?? memoryJournal(),
    custody: await custodyOf(opts, chain),
    encryptionKey: opts.encryptionKey,
    backend: opts.backend,
    chunkSize: opts.chunkSize,
    state: { inFlight: new Map(), hints: new Map() },
  };
}

/** The associated data that binds a record's envelope and key slots to this deployment. */
export function envelopeContext(ctx: LedgerContext, recordId: RecordId, subject: SubjectId): EnvelopeContext {
  return recordContext(ctx.chain, recordId, subject);
}

/** This participant's X25519 private keys by version; InvalidInputError when the context has none. */
export function readerKeysOf(ctx: LedgerContext): ReaderKeys {
  if (ctx.encryptionKey === undefined)
    throw new InvalidInputError("This participant has no encryption key (options.encryptionKey)", {
      field: "encryptionKey",
    });
  return new Map([[ctx.encryptionKey.keyVersion, ctx.encryptionKey.privateKey]]);
}
