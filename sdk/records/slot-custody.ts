/**
 * {@link RecordCustody} over the in-process keyholders (one per custodian organization,
 * sdk/keyholder/keyholder.ts): the data key is wrapped to the subject's registered X25519 key and
 * to the custodian organization's, and the slots are handed to the custodian's keyholder, which
 * re-wraps the custodian slot to a reader's registered key after it has seen the logged access.
 *
 * Interim: the k-of-n keyholder network (`KeyholderNetwork`) replaces it behind the same seam.
 *
 * Chain reads: a deposit reads the subject's key, the writer's accessor status and (for the
 * organization it wrote for last, at the same time) that organization's key: one round of three
 * parallel calls. Preflight, release and erase read nothing (the custodian comes from the anchor).
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

const ACTIVE = 0n;

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
  /** The organization this participant wrote for last (its key is read alongside the status). */
  let lastOrg: number | undefined;

  const keyholderOf = (orgId: number): Keyholder => {
    const k = keyholders.get(orgId);
    if (k === undefined)
      throw new KeyReleaseError("NO_KEYHOLDER", `No keyholder configured for organization ${orgId}`, {
        details: `configured: ${[...keyholders.keys()].join(", ") || "none"}`,
      });
    return k;
  };

  /** The subject's key and the writer's custodian organization with its key. */
  const recipientsOf = async (subject: Hex) => {
    const d = chain.directory;
    const guess = lastOrg;
    const [patient, [status, orgId], org] = await Promise.all([
      d.getPatient(subject),
      d.accessorStatus(chain.account),
      guess === undefined ? undefined : d.getOrganization(guess),
    ]);
    const custodian = status === ACTIVE ? Number(orgId) : 0;
    const subjectKey = { key: parseHex(patient.encryptionKey)!, version: Number(patient.keyVersion) };
    if (custodian === 0) return { custodian, subjectKey };
    lastOrg = custodian;
    const o = org !== undefined && guess === custodian ? org : await d.getOrganization(custodian);
    return { custodian, subjectKey, custodianKey: { key: parseHex(o.encryptionKey)!, version: Number(o.keyVersion) } };
  };

  return {
    async deposit({ subject, recordId, dataKey }) {
      const r = await recipientsOf(subject);
      const context = recordContext(chain, recordId, subject);
      const wrap = (k: { key: Uint8Array; version: number }) =>
        toHex(wrapDataKey({ dataKey, recipientPublicKey: k.key, recipientKeyVersion: k.version, context }));
      await keyholderOf(r.custodian).storeSlots(recordId as RecordId, {
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
  };
}
