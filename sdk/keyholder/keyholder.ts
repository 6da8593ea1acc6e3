/**
 * The custodian's keyholder: keeps the key slots of the custodian's records and releases a record's
 * data key to a reader ONLY after it has seen, on its own RPC node, the reader's access logged on
 * chain for that record (no log, no key). The reader proves who it is by signing the request.
 *
 * This is the in-process keyholder (one per custodian organization); a networked, threshold
 * keyholder implements the same {@link Keyholder} interface.
 *
 * @example
 * ```ts
 * import { createKeyholder, memorySlotStore } from "medledger";
 * const keyholder = createKeyholder({ orgId: 1, privateKey: hospitalX25519, provider, addressBook, slots: memorySlotStore() });
 * ```
 */
import { getBytes, hexlify, verifyMessage } from "ethers";
import type { Provider } from "ethers";

import { unwrapDataKey, wrapDataKey } from "../crypto/index.js";
import type { EnvelopeContext } from "../crypto/index.js";
import { AccessBasis } from "../codes.js";
import { KeyReleaseError } from "../errors.js";
import type { KeyReleaseReason } from "../errors.js";
import { ParticipantDirectory__factory, RecordRegistry__factory } from "../../types/typechain/index.js";
import type { AddressBook } from "../chain/addressBook.js";
import { toSdkError } from "../chain/errors.js";
import { decodeLog } from "../chain/events.js";
import { readRunner, rpcOf } from "../chain/rpc.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import type { SlotStore, StoredSlots } from "./slotStore.js";

export { KeyReleaseError, KeyReleaseReasons, type KeyReleaseReason } from "../errors.js";

/** A reader's signed request for a record's key. */
export interface KeyReleaseRequest {
  subject: SubjectId;
  recordId: RecordId;
  reader: string;
  /** The transaction that logged the access on chain. */
  accessTxHash: string;
  /** EIP-191 signature by `reader` over {@link keyReleaseMessage}. */
  signature: string;
}

export interface Keyholder {
  readonly orgId: number;
  /** Keeps the slots of a new record (called by the writer before anchoring). */
  storeSlots(recordId: RecordId, slots: StoredSlots): Promise<void>;
  /** Checks the request and the on-chain access; returns a key slot the reader can open. */
  release(request: KeyReleaseRequest): Promise<Hex>;
  /** Destroys a record's slots (crypto-shredding on erasure). */
  shred(recordId: RecordId): Promise<boolean>;
}

/** The message a reader signs to ask for a record's key. */
export function keyReleaseMessage(p: {
  recordId: string;
  accessTxHash: string;
  chainId: bigint;
  orgId: number;
}): string {
  return [
    "MedLedger key release",
    `record: ${p.recordId.toLowerCase()}`,
    `access transaction: ${p.accessTxHash.toLowerCase()}`,
    `chain: ${p.chainId}`,
    `custodian: ${p.orgId}`,
  ].join("\n");
}

export interface KeyholderOptions {
  /** The custodian organization (0: a subject keeping their own records' slots). */
  orgId: number;
  /** The custodian's X25519 private key (matching its registered public key). */
  privateKey: Uint8Array;
  /** The keyholder's own view of the chain. */
  provider: Provider;
  addressBook: AddressBook;
  slots: SlotStore;
  /** How old an access event may be to release a key (seconds, default 600). */
  maxAccessAgeSeconds?: number;
}

const SUBJECT_BASIS = BigInt(AccessBasis.indexOf("SUBJECT"));

export function createKeyholder(opts: KeyholderOptions): Keyholder {
  const rpc = rpcOf(opts.provider);
  const runner = readRunner(rpc);
  const records = RecordRegistry__factory.connect(opts.addressBook.contracts.RecordRegistry.address, runner);
  const directory = ParticipantDirectory__factory.connect(
    opts.addressBook.contracts.ParticipantDirectory.address,
    runner,
  );
  const registry = opts.addressBook.contracts.RecordRegistry.address.toLowerCase();
  const chainId = BigInt(opts.addressBook.chainId);
  const maxAge = opts.maxAccessAgeSeconds ?? 600;
  const refuse = (reason: KeyReleaseReason, why: string, details: string): never => {
    throw new KeyReleaseError(reason, `Key release refused: ${why}`, { details });
  };

  const release = async (req: KeyReleaseRequest): Promise<Hex> => {
    const message = keyReleaseMessage({ ...req, chainId, orgId: opts.orgId });
    let signer: string;
    try {
      signer = verifyMessage(message, req.signature);
    } catch (err) {
      return refuse("BAD_SIGNATURE", "bad signature", String(err));
    }
    if (signer.toLowerCase() !== req.reader.toLowerCase())
      refuse("NOT_SIGNED_BY_READER", "the request is not signed by the reader", signer);

    // The record's state and the latest block are read while the access transaction is fetched.
    const record = records.getRecord(req.subject, req.recordId);
    const latestBlock = rpc.latestBlock();
    record.catch(() => undefined); // awaited below
    latestBlock.catch(() => undefined);
    const receipt = await rpc.receipt(req.accessTxHash);
    if (receipt === null || receipt.status !== 1)
      return refuse("NO_ACCESS_TRANSACTION", "no mined access transaction", req.accessTxHash);
    const logged = receipt.logs
      .filter((log) => log.address.toLowerCase() === registry)
      .map(decodeLog)
      .find(
        (e) =>
          e?.name === "RecordAccessed" &&
          (e.args.subject as string).toLowerCase() === req.subject.toLowerCase() &&
          (e.args.recordId as string).toLowerCase() === req.recordId.toLowerCase() &&
          (e.args.accessor as string).toLowerCase() === signer.toLowerCase(),
      );
    if (logged === undefined || logged === null)
      return refuse(
        "NO_ACCESS_LOGGED",
        "the transaction logs no access to this record by the reader",
        req.accessTxHash,
      );
    const subjectRead = (logged.args.basis as bigint) === SUBJECT_BASIS;
    const [latest, reader] = await Promise.all([
      latestBlock,
      subjectRead ? undefined : directory.getPractitioner(signer),
    ]);
    // A read right after its access: the access is usually in the latest block.
    const loggedAt =
      latest.number === receipt.blockNumber ? latest.timestamp : await rpc.blockTimestamp(receipt.blockNumber);
    if (latest.timestamp - loggedAt > maxAge)
      refuse(
        "ACCESS_TOO_OLD",
        "the access is too old",
        `logged at ${loggedAt}, now ${latest.timestamp}, max age ${maxAge}s`,
      );
    const [, custodian, , , erasedAt] = await record;
    const subject = req.subject;
    if (Number(custodian) !== opts.orgId)
      refuse("NOT_CUSTODIAN", "this keyholder is not the record's custodian", `custodian ${custodian}`);
    if (erasedAt !== 0n) refuse("RECORD_ERASED", "the record was erased", req.recordId);
    const slots = await opts.slots.get(req.recordId);
    if (slots === undefined) return refuse("NO_KEY_SLOTS", "no key slots for this record", req.recordId);

    // The subject reads with their own slot; anyone else gets the key re-wrapped to their registered key.
    if (subjectRead) return slots.subject;
    if (slots.custodian === undefined)
      return refuse("NO_CUSTODIAN_SLOT", "the record has no custodian slot", req.recordId);
    const context: EnvelopeContext = {
      recordId: getBytes(req.recordId),
      subjectId: getBytes(subject),
      chainId,
      registry,
    };
    const { encryptionKey: readerKey, keyVersion: readerKeyVersion } = reader!;
    const dataKey = unwrapDataKey({ slot: getBytes(slots.custodian), recipientPrivateKey: opts.privateKey, context });
    try {
      return hexlify(
        wrapDataKey({
          dataKey,
          recipientPublicKey: getBytes(readerKey),
          recipientKeyVersion: Number(readerKeyVersion),
          context,
        }),
      ) as Hex;
    } finally {
      dataKey.fill(0);
    }
  };

  return {
    orgId: opts.orgId,
    storeSlots: (recordId, slots) => opts.slots.put(recordId, slots),
    shred: (recordId) => opts.slots.delete(recordId),
    async release(req) {
      try {
        return await release(req);
      } catch (err) {
        // Every failure is a MedLedgerError (an unreachable node is an RpcError, not a refusal).
        throw toSdkError(err, "Key release failed", rpc.url);
      }
    },
  };
}
