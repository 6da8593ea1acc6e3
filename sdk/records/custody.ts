/**
 * The ONE seam between the record actions and whatever keeps records' data keys. `records.put`
 * deposits the data key before anchoring, `records.get` preflights before logging the access and
 * asks for the key after it, `records.erase` destroys the key after the tombstone. Nothing else in
 * `records/` knows how keys are kept.
 *
 * Two implementations:
 * - the keyholder network (`KeyholderNetwork`, sdk/keyholder/client.ts): k-of-n Shamir shares over
 *   the keyholders governance admitted in KeyholderRegistry. Its `KeyCustody` is assignable to
 *   {@link RecordCustody} as it is (the extra `custodian` hint is simply not used);
 * - the in-process keyholder per custodian organization (`slotCustody`, ./slot-custody.ts), which
 *   keeps key slots wrapped to the subject's and the custodian's registered keys. It needs the
 *   `custodian` hint, which the record actions read from the anchor anyway.
 *
 * @example
 * ```ts
 * import { MedLedger } from "medledger";
 * import { KeyholderNetwork, contractChainView } from "medledger/keyholder";
 * const custody = await KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) });
 * const ml = await MedLedger.create({ signer, encryptionKey, addressBook, storage, custody });
 * ```
 */
import type { AccountSigner, ReaderKeys } from "../keyholder/client.js";
import type { Hex } from "../types.js";

export type { AccountSigner, ReaderKeys };

/**
 * What `records.*` need from whatever keeps the data keys (see the module comment). Every method
 * throws a MedLedgerError (a refusal names its reason) and changes nothing on chain.
 */
export interface RecordCustody {
  /** Keeps `dataKey` for the record; called BEFORE the anchor is sent (a retry may call it again). */
  deposit(p: { writer: AccountSigner; subject: Hex; recordId: Hex; dataKey: Uint8Array }): Promise<void>;
  /**
   * Would a read be released? Called BEFORE the access is logged, so a read that cannot complete
   * leaves no trace on chain. `custodian` is the anchor's custodian organization (0: the subject).
   */
  preflight(p: {
    reader: AccountSigner;
    subject: Hex;
    recordId: Hex;
    purpose: number;
    custodian: number;
  }): Promise<void>;
  /** The data key, after the access logged in `accessTx`. */
  release(p: {
    reader: AccountSigner;
    readerKeys: ReaderKeys;
    subject: Hex;
    recordId: Hex;
    accessTx: Hex;
    custodian: number;
  }): Promise<Uint8Array>;
  /** After the tombstone is on chain: the record's key material is destroyed (crypto-shredding). */
  erase(p: { subject: Hex; recordId: Hex; custodian: number }): Promise<void>;
}

/** The reader's private key for a registered key version; undefined when it has none. */
export function readerKey(keys: ReaderKeys, version: number): Uint8Array | undefined {
  return typeof keys === "function" ? keys(version) : keys.get(version);
}
