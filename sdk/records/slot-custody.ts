/**
 * {@link RecordCustody} over the in-process keyholders (one per custodian organization,
 * sdk/keyholder/keyholder.ts): the data key is wrapped to the subject's registered X25519 key and
 * to the custodian organization's, and the slots are handed to the custodian's keyholder, which
 * re-wraps the custodian slot to a reader's registered key after it has seen the logged access.
 *
 * Interim: the k-of-n keyholder network (`KeyholderNetwork`) replaces it behind the same seam.
 *
 * Chain reads: a deposit reads the subject's key and the custodian organization's key in parallel
 * (the custodian comes from the put, which read the contract's decision). Preflight, release,
 * erase and retire read nothing (the custodian comes from the anchor). No sealed rule: the
 * contract's own consent check decides, and consents' sealed-terms openings are not needed.
 *
 * @internal
 */
import type { ChainClient } from "../chain/client.js";
import type { EnvelopeContext } from "../crypto/index.js";
import { parseKeySlot, unwrapDataKey, wrapDataKey } from "../crypto/index.js";
import { InvalidInputError, KeyReleaseError } from "../errors.js";
import { keyReleaseMessage } from "../keyholder/keyholder.js";
import type { Keyholder } from "../keyholder/keyholder.js";
import { ZERO_BYTES32 } from "../types.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import { parseHex, toHex } from "../util.js";
import type { RecordCustody } from "./custody.js";
import { readerKey } from "./custody.js";

/** The associated data that binds a record's envelope and key slots to one deployment. */
export function recordContext(chain: ChainClient, recordId: string, subject: string): EnvelopeContext {
  return {
    recordId: parseHex(recordId)!,
    subjectId: parseHex(subject)!,
    chainId: chain.chainId,
    registry: chain.addressBook.contracts.RecordRegistry.address,
  };
}

/** The in-process keyholders as a {@link RecordCustody} for the participant of `chain`. */
export function slotCustody(chain: ChainClient, keyholders: ReadonlyMap<number, Keyholder>): RecordCustody {
  const keyholderOf = (orgId: number): Keyholder => {
    const k = keyholders.get(orgId);
    if (k === undefined)
      throw new KeyReleaseError("NO_KEYHOLDER", `No keyholder configured for organization ${orgId}`, {
        details: `configured: ${[...keyholders.keys()].join(", ") || "none"}`,
      });
    return k;
  };

  /** The subject's key and, unless the subject holds the record, the custodian organization's. */
  const recipientsOf = async (subject: Hex, custodian: number) => {
    const d = chain.directory;
    const [patient, org] = await Promise.all([
      d.getPatient(subject),
      custodian === 0 ? undefined : d.getOrganization(custodian),
    ]);
    const subjectKey = { key: parseHex(patient.encryptionKey)!, version: Number(patient.keyVersion) };
    if (org === undefined) return { subjectKey };
    return { subjectKey, custodianKey: { key: parseHex(org.encryptionKey)!, version: Number(org.keyVersion) } };
  };

  return {
    kind: "slots",
    async deposit({ subject, recordId, dataKey, custodian }) {
      const r = await recipientsOf(subject, custodian);
      const context = recordContext(chain, recordId, subject);
      const wrap = (k: { key: Uint8Array; version: number }) =>
        toHex(wrapDataKey({ dataKey, recipientPublicKey: k.key, recipientKeyVersion: k.version, context }));
      await keyholderOf(custodian).storeSlots(recordId as RecordId, {
        subject: wrap(r.subjectKey),
        custodian: r.custodianKey === undefined ? undefined : wrap(r.custodianKey),
      });
    },
    async preflight({ custodian }) {
      keyholderOf(custodian);
      // The in-process keyholders keep no sealed rule: the contract's own consent check decides.
      return { consentHint: ZERO_BYTES32, custodianKeyholderId: custodian };
    },
    async release({ readerKeys, subject, recordId, accessTx, custodian }) {
      const keyholder = keyholderOf(custodian);
      const signature = await chain.signer.signMessage(
        keyReleaseMessage({ recordId, accessTxHash: accessTx, chainId: chain.chainId, orgId: custodian }),
      );
      const slot = parseHex(
        await keyholder.release({
          subject: subject as SubjectId,
          recordId: recordId as RecordId,
          reader: chain.account,
          accessTxHash: accessTx,
          signature,
        }),
      );
      if (slot === undefined) throw new InvalidInputError("The keyholder returned a malformed key slot");
      const version = parseKeySlot(slot).recipientKeyVersion;
      const privateKey = readerKey(readerKeys, version);
      if (privateKey === undefined)
        throw new InvalidInputError(`This participant has no private key for its key version ${version}`, {
          field: "encryptionKey",
        });
      return unwrapDataKey({ slot, recipientPrivateKey: privateKey, context: recordContext(chain, recordId, subject) });
    },
    async erase({ recordId, custodian }) {
      await keyholderOf(custodian).shred(recordId as RecordId);
    },
    async retire({ recordId, custodian }) {
      await keyholderOf(custodian).shred(recordId as RecordId);
    },
  };
}
