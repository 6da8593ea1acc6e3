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
import type { AccountSigner, KeyCustody, ReaderKeys } from "../keyholder/client.js";

export type { AccountSigner, ReaderKeys };

/** A KeyCustody method whose parameters also carry the anchor's custodian organization (0: the subject). */
type WithCustodian<M extends (p: never) => unknown> = (p: Parameters<M>[0] & { custodian: number }) => ReturnType<M>;

/**
 * What `records.*` need from whatever keeps the data keys (see the module comment): the keyholder
 * network's `KeyCustody` calls, with the anchor's custodian as a hint. Every method throws a
 * MedLedgerError (a refusal names its reason) and changes nothing on chain.
 * - `deposit`: keeps the data key; called BEFORE the anchor is sent (a retry may call it again);
 * - `preflight`: would the read be released? Called BEFORE the access is logged, so a read that
 *   cannot complete leaves no trace on chain;
 * - `release`: the data key, after the access logged in `accessTx`;
 * - `erase`: after the tombstone is on chain, the record's key material is destroyed.
 */
export interface RecordCustody {
  deposit(p: Omit<Parameters<KeyCustody["deposit"]>[0], "custodian">): Promise<void>;
  preflight: WithCustodian<KeyCustody["preflight"]>;
  release: WithCustodian<KeyCustody["release"]>;
  erase: WithCustodian<KeyCustody["erase"]>;
}

/** The reader's private key for a registered key version; undefined when it has none. */
export function readerKey(keys: ReaderKeys, version: number): Uint8Array | undefined {
  return typeof keys === "function" ? keys(version) : keys.get(version);
}
