/**
 * The one explicit context every action takes, viem-style: `put(ctx, params)`, `grant(ctx,
 * params)`. It holds what a participant acts with (the chain client for its signer, storage, the
 * journal, the key custody, its X25519 key) and small per-participant state (puts in flight,
 * consent hints learned from its own transactions). `MedLedger` is a thin facade over it.
 *
 * @example
 * ```ts
 * import { createLedgerContext, records } from "medledger";
 * const ctx = await createLedgerContext({ signer, addressBook, storage, custody });
 * const recordId = await records.put(ctx, { subject, content: "…", category: "NOTES", mediaType: "text/plain" });
 * ```
 */
import type { Signer } from "ethers";

import { ChainClient } from "./chain/client.js";
import type { ChainClientOptions } from "./chain/client.js";
import type { AddressBook } from "./chain/addressBook.js";
import type { CipherBackend, EnvelopeContext } from "./crypto/index.js";
import { InvalidInputError } from "./errors.js";
import type { Keyholder } from "./keyholder/keyholder.js";
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
   * What keeps records' data keys (the keyholder network: `KeyholderNetwork`). Give this or
   * `keyholders`.
   */
  custody?: RecordCustody;
  /** Interim, instead of `custody`: the in-process keyholder of each custodian organization (0: subject-held records). */
  keyholders?: ReadonlyMap<number, Keyholder>;
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
  /** The seam to whatever keeps data keys (records/custody.ts). */
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
    for (const m of ["deposit", "preflight", "release", "erase"])
      if (typeof c[m] !== "function")
        throw new InvalidInputError(`options.custody must implement ${m}() (a KeyholderNetwork)`, { field: "custody" });
  } else if (!(opts.keyholders instanceof Map))
    throw new InvalidInputError(
      "options.custody (a KeyholderNetwork) or options.keyholders (a Map of organization id → keyholder) is required",
      { field: "custody" },
    );
  if (opts.encryptionKey !== undefined) {
    object(opts.encryptionKey, "encryptionKey");
    bytesOf(opts.encryptionKey.privateKey, 32, "encryptionKey.privateKey");
    integer(opts.encryptionKey.keyVersion, "encryptionKey.keyVersion", 1n, 0xffffffffn);
  }
}

/** Connects (checking the deployment) and builds the context for one participant. */
export async function createLedgerContext(opts: MedLedgerOptions): Promise<LedgerContext> {
  checkOptions(opts);
  const chain = await ChainClient.create({ ...opts.chain, signer: opts.signer, addressBook: opts.addressBook });
  return {
    chain,
    storage: opts.storage,
    journal: opts.journal ?? memoryJournal(),
    custody: opts.custody ?? slotCustody(chain, opts.keyholders!),
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
