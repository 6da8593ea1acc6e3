/**
 * The high-level SDK: one object per acting participant (a hospital service, a doctor's app, a
 * patient's app) with `records`, `consent`, `directory`, `emergency` and `audit`.
 *
 * @example
 * ```ts
 * import { MedLedger, filesystem, readAddressBook } from "medledger";
 * const ml = await MedLedger.create({
 *   signer: wallet,                      // the participant's Ethereum account
 *   encryptionKey: { privateKey: x25519Private, keyVersion: 1 },
 *   addressBook: await readAddressBook("deployments/localhost.json"),
 *   storage: filesystem({ dir: ".medledger/blobs" }),
 *   keyholders,                          // orgId → keyholder (key release after logged access)
 * });
 * const recordId = await ml.records.put(subject, json, { category: "OBSERVATIONS", mediaType: "application/fhir+json" });
 * const { content } = await ml.records.get(recordId, { purpose: "TREAT" });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getBytes, hexlify } from "ethers";
import type { Signer } from "ethers";

import { ChainClient, eventOf } from "./chain/client.js";
import type { ChainClientOptions, WriteResult } from "./chain/client.js";
import { consentDomain, GRANT_TYPES, REVOKE_TYPES } from "./chain/eip712.js";
import { AccessDeniedError, ContractRevertError } from "./chain/errors.js";
import type { AddressBook } from "./chain/addressBook.js";
import { startBlock } from "./chain/addressBook.js";
import {
  Action,
  Category,
  Effect,
  GranteeKind,
  OrgKind,
  Purpose,
  actionMask,
  categoryMask,
  denyReasonCode,
  denyReasonName,
  powerMask,
  purposeMask,
  roleMask,
} from "./codes.js";
import type {
  ActionName,
  CategoryName,
  DenyReasonName,
  OrgKindName,
  PowerName,
  PurposeName,
  RoleName,
} from "./codes.js";
import { generateDataKey, openBytes, sealBytes, unwrapDataKey, wrapDataKey } from "./crypto/index.js";
import type { CipherBackend, EnvelopeContext } from "./crypto/index.js";
import { IntegrityError, InvalidInputError, NotFoundError } from "./errors.js";
import { keyReleaseMessage } from "./keyholder/keyholder.js";
import type { Keyholder } from "./keyholder/keyholder.js";
import { idempotencyKey, memoryJournal } from "./records/journal.js";
import type { Journal, JournalEntry } from "./records/journal.js";
import type { BlobStore } from "./storage/index.js";
import { asConsentId, asRecordId, asSubjectId, newRecordId, newSubjectId, ZERO_BYTES32 } from "./types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "./types.js";

export interface MedLedgerOptions {
  /** The participant's Ethereum account, connected to a provider. */
  signer: Signer;
  /** The participant's X25519 private key (its public key is registered on chain) and its version. */
  encryptionKey?: { privateKey: Uint8Array; keyVersion: number };
  addressBook: AddressBook;
  /** Where sealed envelopes are stored (filesystem, IPFS, memory, custom). */
  storage: BlobStore;
  /** The keyholder of each custodian organization (0: subject-held records). */
  keyholders: ReadonlyMap<number, Keyholder>;
  /** The writer's journal (idempotent, crash-safe puts). Default: in memory. */
  journal?: Journal;
  backend?: CipherBackend;
  chunkSize?: number;
  chain?: Omit<ChainClientOptions, "signer" | "addressBook">;
}

/** A consent as the SDK takes it: names, not bit masks. */
export interface ConsentInput {
  /** A practitioner's account, or an organization's members holding any of `roles` (organization 0: any). */
  grantee: { practitioner: string } | { organization: number; roles: readonly RoleName[] };
  categories: readonly CategoryName[];
  /** Purposes of use; for a deny, omit to cover every purpose. */
  purposes?: readonly PurposeName[];
  actions?: readonly ActionName[];
  effect?: "permit" | "deny";
  validFrom?: Date | number;
  validUntil?: Date | number;
}

/** The on-chain ConsentTerms tuple. */
export interface ConsentTerms {
  effect: number;
  granteeKind: number;
  granteeAccount: string;
  granteeOrg: number;
  granteeRoles: number;
  categories: number;
  purposes: number;
  actions: number;
  validFrom: bigint;
  validUntil: bigint;
}

/** A consent signed off chain by the subject (or a guardian), ready for anyone to relay. */
export interface SignedGrant {
  kind: "grant";
  subject: SubjectId;
  terms: ConsentTerms;
  signer: string;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}
export interface SignedRevoke {
  kind: "revoke";
  subject: SubjectId;
  consentId: ConsentId;
  signer: string;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** The answer of a consent check, with names. */
export interface ConsentDecision {
  allowed: boolean;
  reason: DenyReasonName | `UNKNOWN_${number}`;
  basis: "NONE" | "CONSENT" | "EMERGENCY" | "SUBJECT";
  consentId: ConsentId | null;
}

export interface PutOptions {
  category: CategoryName;
  mediaType: string;
  /** The version this one supersedes. */
  previous?: RecordId;
  /** Identifies the write across retries; default: a keyed hash of subject, category, previous and content. */
  idempotencyKey?: string;
}

export interface GetOptions {
  purpose: PurposeName;
  /** Break-glass: read without consent as an emergency responder (ETREAT or BTG). */
  emergency?: { reasonCode: number };
}

export interface RecordContent {
  recordId: RecordId;
  subject: SubjectId;
  category: CategoryName | `CATEGORY_${number}`;
  mediaType: string;
  content: Uint8Array;
  /** The transaction that logged this read. */
  accessTx: string;
}

interface Recipients {
  subjectKey: Uint8Array;
  subjectKeyVersion: number;
  custodian: number;
  custodianKey?: Uint8Array;
  custodianKeyVersion: number;
}

/** How many records a batch seals and stores at once. */
const PREPARE_CONCURRENCY = 32;

/** Maps with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface AnchorState {
  subject: SubjectId;
  digest: Hex;
  custodian: number;
  category: number;
  erasedAt: number;
}

export interface RecordVersion {
  recordId: RecordId;
  previous: RecordId | null;
  digest: Hex;
  pointer: string;
  custodian: number;
  category: number;
  anchoredAt: number;
  erased: boolean;
  superseded: boolean;
}

export interface AccessLogEntry {
  recordId: RecordId;
  subject: SubjectId;
  accessor: string;
  purpose: PurposeName | `PURPOSE_${number}`;
  basis: "NONE" | "CONSENT" | "EMERGENCY" | "SUBJECT";
  basisId: Hex;
  blockNumber: number;
  timestamp: number;
  transactionHash: string;
}

const BASES = ["NONE", "CONSENT", "EMERGENCY", "SUBJECT"] as const;
const CATEGORY_NAMES = new Map<number, CategoryName>(
  (Object.entries(Category) as [CategoryName, number][]).map(([k, v]) => [v, k]),
);
const PURPOSE_NAMES = new Map<number, PurposeName>(
  (Object.entries(Purpose) as [PurposeName, number][]).map(([k, v]) => [v, k]),
);

export const categoryName = (code: number): CategoryName | `CATEGORY_${number}` =>
  CATEGORY_NAMES.get(code) ?? `CATEGORY_${code}`;
export const purposeName = (code: number): PurposeName | `PURPOSE_${number}` =>
  PURPOSE_NAMES.get(code) ?? `PURPOSE_${code}`;

function toSeconds(value: Date | number | undefined): bigint {
  if (value === undefined) return 0n;
  return BigInt(Math.floor(value instanceof Date ? value.getTime() / 1000 : value));
}

/** Converts a {@link ConsentInput} to the on-chain terms; throws InvalidInputError on nonsense. */
export function consentTerms(input: ConsentInput): ConsentTerms {
  const deny = input.effect === "deny";
  if (input.categories.length === 0) throw new InvalidInputError("A consent needs at least one category");
  const purposes = input.purposes ?? [];
  if (!deny && purposes.length === 0) throw new InvalidInputError("A permit needs at least one purpose of use");
  const base = {
    effect: deny ? Effect.DENY : Effect.PERMIT,
    categories: categoryMask(input.categories),
    purposes: purposeMask(purposes),
    actions: actionMask(input.actions ?? ["READ"]),
    validFrom: toSeconds(input.validFrom),
    validUntil: toSeconds(input.validUntil),
  };
  if ("practitioner" in input.grantee) {
    return {
      ...base,
      granteeKind: GranteeKind.PRACTITIONER,
      granteeAccount: input.grantee.practitioner,
      granteeOrg: 0,
      granteeRoles: 0,
    };
  }
  if (input.grantee.roles.length === 0) throw new InvalidInputError("An organization grantee needs at least one role");
  return {
    ...base,
    granteeKind: GranteeKind.ORG_ROLE,
    granteeAccount: "0x0000000000000000000000000000000000000000",
    granteeOrg: input.grantee.organization,
    granteeRoles: roleMask(input.grantee.roles),
  };
}

const ENC = new TextEncoder();
const DEC = new TextDecoder();

/** Sealed payload = uint16 BE length of the media type || media type (UTF-8) || content. */
function frame(mediaType: string, content: Uint8Array): Uint8Array {
  const type = ENC.encode(mediaType);
  if (type.length === 0 || type.length > 255) throw new InvalidInputError("mediaType must be 1..255 bytes");
  const out = new Uint8Array(2 + type.length + content.length);
  new DataView(out.buffer).setUint16(0, type.length);
  out.set(type, 2);
  out.set(content, 2 + type.length);
  return out;
}

function unframe(payload: Uint8Array): { mediaType: string; content: Uint8Array } {
  if (payload.length < 2) throw new IntegrityError("Sealed payload is too short");
  const len = new DataView(payload.buffer, payload.byteOffset).getUint16(0);
  if (payload.length < 2 + len) throw new IntegrityError("Sealed payload is truncated");
  return { mediaType: DEC.decode(payload.subarray(2, 2 + len)), content: payload.subarray(2 + len) };
}

function sha256Hex(bytes: Uint8Array): Hex {
  return hexlify(sha256(bytes)) as Hex;
}

export class MedLedger {
  readonly chain: ChainClient;
  readonly storage: BlobStore;
  readonly journal: Journal;
  readonly records: RecordsApi;
  readonly consent: ConsentApi;
  readonly directory: DirectoryApi;
  readonly emergency: EmergencyApi;
  readonly audit: AuditApi;
  /** @internal */
  readonly opts: MedLedgerOptions;

  private constructor(chain: ChainClient, opts: MedLedgerOptions) {
    this.chain = chain;
    this.opts = opts;
    this.storage = opts.storage;
    this.journal = opts.journal ?? memoryJournal();
    this.records = new RecordsApi(this);
    this.consent = new ConsentApi(this);
    this.directory = new DirectoryApi(this);
    this.emergency = new EmergencyApi(this);
    this.audit = new AuditApi(this);
  }

  /** Connects to the deployment (checks chain id and contract versions). */
  static async create(opts: MedLedgerOptions): Promise<MedLedger> {
    const chain = await ChainClient.create({ ...opts.chain, signer: opts.signer, addressBook: opts.addressBook });
    return new MedLedger(chain, opts);
  }

  /** This participant's account address. */
  get account(): string {
    return this.chain.account;
  }

  /** @internal */
  context(recordId: string, subject: string): EnvelopeContext {
    return {
      recordId: getBytes(recordId),
      subjectId: getBytes(subject),
      chainId: this.chain.chainId,
      registry: this.opts.addressBook.contracts.RecordRegistry.address,
    };
  }

  /** @internal */
  keyholder(orgId: number): Keyholder {
    const k = this.opts.keyholders.get(orgId);
    if (k === undefined) throw new NotFoundError(`No keyholder for organization ${orgId}`);
    return k;
  }

  /** @internal */
  privateKey(): { privateKey: Uint8Array; keyVersion: number } {
    if (this.opts.encryptionKey === undefined) throw new InvalidInputError("This MedLedger has no encryption key");
    return this.opts.encryptionKey;
  }
}

class RecordsApi {
  private readonly inFlight = new Map<string, Promise<RecordId>>();

  constructor(private readonly ml: MedLedger) {}

  /**
   * Seals `content`, stores the envelope, stores the key slots with the custodian's keyholder and
   * anchors the record. Idempotent and crash-safe: a retry with the same arguments (or the same
   * `idempotencyKey`) completes the same record and never anchors twice.
   */
  async put(subject: SubjectId, content: Uint8Array | string, opts: PutOptions): Promise<RecordId> {
    const key = opts.idempotencyKey ?? this.keyFor(subject, content, opts);
    // The same write issued twice at once joins the first attempt instead of racing it.
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const attempt = (async () => {
      const entry = await this.prepare(subject, content, opts, key);
      if (entry.stage !== "anchored") await this.anchor(entry, key);
      return entry.recordId;
    })();
    this.inFlight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /**
   * Stores many first versions of one subject's records and anchors them with ONE Merkle root.
   * Each is later provable and accessible. Idempotent like {@link RecordsApi.put}.
   */
  async putBatch(
    subject: SubjectId,
    items: readonly {
      content: Uint8Array | string;
      category: CategoryName;
      mediaType: string;
      idempotencyKey?: string;
    }[],
  ): Promise<RecordId[]> {
    if (items.length === 0) return [];
    // Seal and store concurrently (storage writes and their fsyncs overlap), with bounded memory.
    const recipients = await this.recipients(asSubjectId(subject));
    const prepared = await mapLimit(items, PREPARE_CONCURRENCY, async (item) => {
      const opts: PutOptions = {
        category: item.category,
        mediaType: item.mediaType,
        idempotencyKey: item.idempotencyKey,
      };
      const key = item.idempotencyKey ?? this.keyFor(subject, item.content, opts);
      return { entry: await this.prepare(subject, item.content, opts, key, recipients), key };
    });
    const pending = prepared.filter((p) => p.entry.stage !== "anchored");
    if (pending.length > 0) {
      const leaves: [string, number, string][] = pending.map((p) => [
        p.entry.recordId,
        p.entry.category,
        p.entry.digest,
      ]);
      const tree = StandardMerkleTree.of(leaves, ["bytes32", "uint8", "bytes32"]);
      const root = tree.root as Hex;
      const manifest = ENC.encode(
        JSON.stringify({
          format: "medledger-batch/1",
          root,
          subject,
          records: pending.map((p, i) => ({
            recordId: p.entry.recordId,
            category: p.entry.category,
            digest: p.entry.digest,
            pointer: p.entry.pointer,
            proof: tree.getProof(i),
          })),
        }),
      );
      const manifestAddress = await this.ml.storage.put(manifest);
      const categories = pending.reduce((m, p) => m | (1 << p.entry.category), 0) >>> 0;
      const batchExists = await this.ml.chain.records.getBatch(root).then(
        () => true,
        () => false,
      );
      if (!batchExists) {
        const hint = await this.appendHint(subject, pending[0]!.entry.category);
        await this.ml.chain.send(this.ml.chain.records, "anchorBatch", [
          subject,
          root,
          pending.length,
          categories,
          manifestAddress,
          hint,
        ]);
      }
      for (const [i, p] of pending.entries()) {
        p.entry.batch = { root, proof: tree.getProof(i) as Hex[] };
        p.entry.stage = "anchored";
        await this.ml.journal.put(p.key, p.entry);
      }
    }
    return prepared.map((p) => p.entry.recordId);
  }

  /**
   * Reads a record: logs the access on chain FIRST, then obtains the data key from the custodian's
   * keyholder (which checks that log), fetches the envelope, verifies it against the on-chain
   * digest and opens it.
   */
  async get(recordId: RecordId, opts: GetOptions): Promise<RecordContent> {
    const id = asRecordId(recordId);
    const anchor = await this.anchorState(id);
    const purpose = Purpose[opts.purpose];
    if (purpose === undefined) throw new InvalidInputError(`Unknown purpose of use ${String(opts.purpose)}`);
    let logged: WriteResult;
    if (opts.emergency !== undefined) {
      logged = await this.ml.chain.send(this.ml.chain.records, "breakGlassAccess", [
        [id],
        purpose,
        opts.emergency.reasonCode,
      ]);
    } else {
      if (anchor.erasedAt !== 0) throw this.refusal(id, "RECORD_ERASED", null);
      const decision = await this.ml.consent.check({
        accessor: this.ml.account,
        subject: anchor.subject,
        category: categoryName(anchor.category) as CategoryName,
        purpose: opts.purpose,
      });
      // Refused before spending gas; the contract would refuse for the same reason.
      if (!decision.allowed) throw this.refusal(id, decision.reason, decision.consentId);
      logged = await this.ml.chain.send(this.ml.chain.records, "access", [
        id,
        purpose,
        decision.consentId ?? ZERO_BYTES32,
      ]);
    }
    const accessTx = logged.receipt.hash;
    const keyholder = this.ml.keyholder(anchor.custodian);
    const signature = await this.ml.opts.signer.signMessage(
      keyReleaseMessage({
        recordId: id,
        accessTxHash: accessTx,
        chainId: this.ml.chain.chainId,
        orgId: anchor.custodian,
      }),
    );
    const slot = await keyholder.release({ recordId: id, reader: this.ml.account, accessTxHash: accessTx, signature });
    const context = this.ml.context(id, anchor.subject);
    const dataKey = unwrapDataKey({
      slot: getBytes(slot),
      recipientPrivateKey: this.ml.privateKey().privateKey,
      context,
    });
    try {
      const envelope = await this.ml.storage.getBytes(await this.pointerOf(id));
      const digest = sha256Hex(envelope);
      if (digest !== anchor.digest.toLowerCase()) {
        throw new IntegrityError("The stored envelope does not match its on-chain digest", {
          details: `record ${id}: on chain ${anchor.digest}, stored ${digest}`,
        });
      }
      const payload = await openBytes(envelope, { key: dataKey, context, backend: this.ml.opts.backend });
      const { mediaType, content } = unframe(payload);
      return {
        recordId: id,
        subject: anchor.subject,
        category: categoryName(anchor.category),
        mediaType,
        content,
        accessTx,
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Every version of the record's chain, oldest first (from events; superseded versions included). */
  async history(recordId: RecordId): Promise<RecordVersion[]> {
    const id = asRecordId(recordId);
    const start = await this.locate(id);
    const versions: RecordVersion[] = [];
    // Walk back to the first version.
    let cursor: RecordVersion | null = await this.version(id, start);
    while (cursor !== null) {
      versions.unshift(cursor);
      cursor = cursor.previous === null ? null : await this.version(cursor.previous);
    }
    // Walk forward through successors.
    let last = versions[versions.length - 1]!;
    while (last.superseded) {
      const next = await this.successor(last.recordId);
      if (next === null) break;
      versions.push(next);
      last = next;
    }
    return versions;
  }

  /** Re-reads the stored envelope and checks it against the on-chain digest (no key needed). */
  async verify(
    recordId: RecordId,
  ): Promise<{ intact: boolean; recordId: RecordId; digest: Hex; stored: Hex | null; erased: boolean }> {
    const id = asRecordId(recordId);
    const anchor = await this.locate(id);
    const onChain = anchor.digest.toLowerCase() as Hex;
    const erased = anchor.erasedAt !== 0;
    // A missing or unreadable envelope is not intact.
    const stored: Hex | null = await this.ml.storage.getBytes(anchor.pointer).then(sha256Hex, () => null);
    return { intact: stored === onChain, recordId: id, digest: onChain, stored, erased };
  }

  /**
   * Erases a record version (the subject or a guardian with ERASE): tombstone on chain, then
   * crypto-shredding: the key slots and the ciphertext are destroyed. The digest stays on chain.
   */
  async erase(recordId: RecordId): Promise<void> {
    const id = asRecordId(recordId);
    const anchor = await this.locate(id);
    if (anchor.erasedAt === 0) await this.ml.chain.send(this.ml.chain.records, "eraseRecord", [id]);
    await this.ml.keyholder(anchor.custodian).shred(id);
    await this.ml.storage.delete(anchor.pointer);
  }

  // ─── internals ───

  private refusal(id: RecordId, reason: string, consentId: ConsentId | null): AccessDeniedError {
    return new AccessDeniedError(
      "AccessDenied",
      {
        recordId: id,
        accessor: this.ml.account,
        reason: BigInt(denyReasonCode(reason as DenyReasonName)),
        consentId: consentId ?? ZERO_BYTES32,
      },
      undefined,
      undefined,
    );
  }

  private keyFor(subject: SubjectId, content: Uint8Array | string, opts: PutOptions): string {
    const bytes = typeof content === "string" ? ENC.encode(content) : content;
    return idempotencyKey(this.ml.journal.secret, [
      subject,
      opts.category,
      opts.mediaType,
      opts.previous ?? "",
      sha256(bytes),
    ]);
  }

  /** Seals, stores and wraps keys (or finds the journal entry of an earlier attempt). */
  private async prepare(
    subject: SubjectId,
    content: Uint8Array | string,
    opts: PutOptions,
    key?: string,
    known?: Recipients,
  ): Promise<JournalEntry> {
    const sid = asSubjectId(subject);
    const category = Category[opts.category];
    if (category === undefined) throw new InvalidInputError(`Unknown category ${String(opts.category)}`);
    const journalKey = key ?? opts.idempotencyKey ?? this.keyFor(sid, content, opts);
    const existing = await this.ml.journal.get(journalKey);
    if (existing !== undefined) return existing;

    const bytes = typeof content === "string" ? ENC.encode(content) : content;
    const recordId = newRecordId();
    const context = this.ml.context(recordId, sid);
    const dataKey = generateDataKey();
    try {
      const envelope = await sealBytes(frame(opts.mediaType, bytes), {
        key: dataKey,
        context,
        backend: this.ml.opts.backend,
        chunkSize: this.ml.opts.chunkSize,
      });
      const digest = sha256Hex(envelope);
      const pointer = await this.ml.storage.put(envelope);
      const r = known ?? (await this.recipients(sid));
      const custodian = r.custodian;
      const subjectSlot = hexlify(
        wrapDataKey({ dataKey, recipientPublicKey: r.subjectKey, recipientKeyVersion: r.subjectKeyVersion, context }),
      ) as Hex;
      const custodianSlot =
        r.custodianKey === undefined
          ? undefined
          : (hexlify(
              wrapDataKey({
                dataKey,
                recipientPublicKey: r.custodianKey,
                recipientKeyVersion: r.custodianKeyVersion,
                context,
              }),
            ) as Hex);
      await this.ml.keyholder(custodian).storeSlots(recordId, { subject: subjectSlot, custodian: custodianSlot });
      const entry: JournalEntry = {
        recordId,
        subject: sid,
        category,
        mediaType: opts.mediaType,
        previous: opts.previous === undefined ? null : asRecordId(opts.previous),
        pointer,
        digest,
        custodian,
        stage: "stored",
      };
      // From here on a retry resumes this entry: the content is stored before anything is anchored.
      await this.ml.journal.put(journalKey, entry);
      return entry;
    } finally {
      dataKey.fill(0);
    }
  }

  /** Who a new record's key is wrapped for: the subject, and the writer's organization (custodian). */
  private async recipients(subject: SubjectId): Promise<Recipients> {
    const d = this.ml.chain.directory;
    const [, subjectKey, subjectKeyVersion] = await this.ml.chain.read(() => d.getPatient(subject));
    const [status, orgId] = await d.accessorStatus(this.ml.account);
    const custodian = status === 0n ? Number(orgId) : 0;
    const base = { subjectKey: getBytes(subjectKey), subjectKeyVersion: Number(subjectKeyVersion), custodian };
    if (custodian === 0) return { ...base, custodianKeyVersion: 0 };
    const [, , , orgKey, orgKeyVersion] = await d.getOrganization(custodian);
    return { ...base, custodianKey: getBytes(orgKey), custodianKeyVersion: Number(orgKeyVersion) };
  }

  private async anchor(entry: JournalEntry, key: string): Promise<void> {
    const onChain = await this.ml.chain.records.getRecord(entry.recordId).then(
      () => true,
      () => false,
    );
    if (!onChain) {
      const hint = await this.appendHint(entry.subject, entry.category);
      try {
        await this.ml.chain.send(this.ml.chain.records, "anchorRecord", [
          entry.recordId,
          entry.subject,
          entry.category,
          entry.digest,
          entry.previous ?? ZERO_BYTES32,
          entry.pointer,
          hint,
        ]);
      } catch (err) {
        // A transaction from an earlier attempt was mined meanwhile: the record is anchored once.
        if (!(err instanceof ContractRevertError && err.errorName === "RecordExists")) throw err;
      }
    }
    entry.stage = "anchored";
    await this.ml.journal.put(key, entry);
  }

  private async appendHint(subject: SubjectId, category: number): Promise<Hex> {
    const d = await this.ml.chain.consents.check(this.ml.account, subject, category, 0, Action.APPEND);
    return (d.allowed ? d.consentId : ZERO_BYTES32) as Hex;
  }

  /** The anchor state and pointer of a record; proves batch members on chain first if needed. */
  private async locate(id: RecordId): Promise<AnchorState & { pointer: string }> {
    const state = await this.anchorState(id);
    return { ...state, pointer: await this.pointerOf(id) };
  }

  /** The on-chain state of a record; a batch member not yet proven is proven first. */
  private async anchorState(id: RecordId): Promise<AnchorState> {
    const records = this.ml.chain.records;
    let state = await records.getRecord(id).catch(() => null);
    if (state === null) {
      const member = await this.findBatchMember(id);
      if (member === undefined) throw new NotFoundError(`Record ${id} is not anchored`);
      await this.ml.chain.send(records, "proveRecord", [member.root, id, member.category, member.digest, member.proof]);
      state = await this.ml.chain.read(() => records.getRecord(id));
    }
    const [subject, digest, custodian, category, , erasedAt] = state;
    return {
      subject: subject as SubjectId,
      digest: digest as Hex,
      custodian: Number(custodian),
      category: Number(category),
      erasedAt: Number(erasedAt),
    };
  }

  /** Where the envelope is stored: the writer's journal, the anchor event, or the batch manifest. */
  private async pointerOf(id: RecordId): Promise<string> {
    const local = await this.ml.journal.byRecord(id);
    if (local !== undefined) return local.pointer;
    const anchored = await this.anchoredEvent(id);
    if (anchored !== undefined) return anchored.pointer;
    const member = await this.findBatchMember(id);
    if (member !== undefined) return member.pointer;
    throw new NotFoundError(`No storage pointer known for record ${id}`);
  }

  /** A batch member's proof: from the journal, or from the batch manifests of the chain. */
  private async findBatchMember(
    id: RecordId,
  ): Promise<{ root: Hex; category: number; digest: Hex; proof: Hex[]; pointer: string } | undefined> {
    const local = await this.ml.journal.byRecord(id);
    if (local?.batch !== undefined)
      return { ...local.batch, category: local.category, digest: local.digest, pointer: local.pointer };
    const records = this.ml.chain.records;
    const from = startBlock(this.ml.opts.addressBook);
    // A proven member names its batch; otherwise every batch manifest is a candidate.
    const [proven] = await records.queryFilter(records.filters.RecordProven(id), from);
    const events = await records.queryFilter(records.filters.BatchAnchored(proven?.args.root), from);
    for (const e of events) {
      try {
        const manifest = JSON.parse(DEC.decode(await this.ml.storage.getBytes(e.args.pointer))) as {
          root: Hex;
          records: { recordId: string; category: number; digest: Hex; pointer: string; proof: Hex[] }[];
        };
        const m = manifest.records.find((r) => r.recordId.toLowerCase() === id);
        if (m !== undefined)
          return { root: manifest.root, category: m.category, digest: m.digest, proof: m.proof, pointer: m.pointer };
      } catch {
        // A manifest this store does not hold (another custodian's storage): skip.
      }
    }
    return undefined;
  }

  private async anchoredEvent(
    id: RecordId,
  ): Promise<{ pointer: string; previous: RecordId | null; blockNumber: number } | undefined> {
    const records = this.ml.chain.records;
    const [event] = await records.queryFilter(records.filters.RecordAnchored(id), startBlock(this.ml.opts.addressBook));
    if (event === undefined) return undefined;
    const previous = event.args.previous;
    return {
      pointer: event.args.pointer,
      previous: previous === ZERO_BYTES32 ? null : asRecordId(previous),
      blockNumber: event.blockNumber,
    };
  }

  private async version(id: RecordId, known?: { pointer: string }): Promise<RecordVersion> {
    const [, digest, custodian, category, anchoredAt, erasedAt, superseded] = await this.ml.chain.read(() =>
      this.ml.chain.records.getRecord(id),
    );
    const event = await this.anchoredEvent(id);
    return {
      recordId: id,
      previous: event?.previous ?? null,
      digest: digest as Hex,
      pointer: known?.pointer ?? event?.pointer ?? "",
      custodian: Number(custodian),
      category: Number(category),
      anchoredAt: Number(anchoredAt),
      erased: erasedAt !== 0n,
      superseded,
    };
  }

  private async successor(id: RecordId): Promise<RecordVersion | null> {
    const records = this.ml.chain.records;
    const events = await records.queryFilter(records.filters.RecordAnchored(), startBlock(this.ml.opts.addressBook));
    const next = events.find((e) => e.args.previous.toLowerCase() === id);
    return next === undefined ? null : this.version(asRecordId(next.args.recordId));
  }
}

class ConsentApi {
  constructor(private readonly ml: MedLedger) {}

  /** Grants a consent directly (the caller is the subject's controller or a guardian). */
  async grant(subject: SubjectId, input: ConsentInput): Promise<{ consentId: ConsentId; result: WriteResult }> {
    const result = await this.ml.chain.send(this.ml.chain.consents, "grant", [
      asSubjectId(subject),
      consentTerms(input),
    ]);
    return { consentId: asConsentId(eventOf(result, "ConsentGranted").args.consentId as string), result };
  }

  /** Revokes a consent directly. */
  async revoke(subject: SubjectId, consentId: ConsentId): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.consents, "revoke", [asSubjectId(subject), asConsentId(consentId)]);
  }

  /** Signs a grant (EIP-712) for anyone to relay; the patient pays no gas. */
  async signGrant(
    subject: SubjectId,
    input: ConsentInput,
    opts: { deadline?: number; nonce?: bigint } = {},
  ): Promise<SignedGrant> {
    const terms = consentTerms(input);
    const signer = this.ml.account;
    const nonce = opts.nonce ?? (await this.ml.chain.consents.nonces(signer));
    const deadline = BigInt(opts.deadline ?? Math.floor(Date.now() / 1000) + 3600);
    const signature = (await this.ml.opts.signer.signTypedData(this.domain(), GRANT_TYPES, {
      subject,
      terms,
      nonce,
      deadline,
    })) as Hex;
    return { kind: "grant", subject: asSubjectId(subject), terms, signer, nonce, deadline, signature };
  }

  /** Signs a revocation (EIP-712) for anyone to relay. */
  async signRevoke(
    subject: SubjectId,
    consentId: ConsentId,
    opts: { deadline?: number; nonce?: bigint } = {},
  ): Promise<SignedRevoke> {
    const signer = this.ml.account;
    const nonce = opts.nonce ?? (await this.ml.chain.consents.nonces(signer));
    const deadline = BigInt(opts.deadline ?? Math.floor(Date.now() / 1000) + 3600);
    const signature = (await this.ml.opts.signer.signTypedData(this.domain(), REVOKE_TYPES, {
      subject,
      consentId,
      nonce,
      deadline,
    })) as Hex;
    return {
      kind: "revoke",
      subject: asSubjectId(subject),
      consentId: asConsentId(consentId),
      signer,
      nonce,
      deadline,
      signature,
    };
  }

  /** Relays a signed grant or revocation (this participant pays the gas). */
  async relay(signed: SignedGrant): Promise<{ consentId: ConsentId; result: WriteResult }>;
  async relay(signed: SignedRevoke): Promise<{ consentId: ConsentId; result: WriteResult }>;
  async relay(signed: SignedGrant | SignedRevoke): Promise<{ consentId: ConsentId; result: WriteResult }> {
    if (signed.kind === "grant") {
      const result = await this.ml.chain.send(this.ml.chain.consents, "grantBySig", [
        signed.subject,
        signed.terms,
        signed.signer,
        signed.deadline,
        signed.signature,
      ]);
      return { consentId: asConsentId(eventOf(result, "ConsentGranted").args.consentId as string), result };
    }
    const result = await this.ml.chain.send(this.ml.chain.consents, "revokeBySig", [
      signed.subject,
      signed.consentId,
      signed.signer,
      signed.deadline,
      signed.signature,
    ]);
    return { consentId: signed.consentId, result };
  }

  /** Every consent of a subject (permits and denies, revoked ones included), oldest first. */
  async list(subject: SubjectId): Promise<{ consentId: ConsentId; terms: ConsentTerms; revokedAt: number }[]> {
    const c = this.ml.chain.consents;
    const count = Number(await c.consentCount(subject));
    const out: { consentId: ConsentId; terms: ConsentTerms; revokedAt: number }[] = [];
    for (let i = 1; i <= count; i++) {
      const id = asConsentId(await c.consentIdAt(subject, i));
      const [t, revokedAt] = await c.getConsent(subject, id);
      out.push({
        consentId: id,
        terms: {
          effect: Number(t.effect),
          granteeKind: Number(t.granteeKind),
          granteeAccount: t.granteeAccount,
          granteeOrg: Number(t.granteeOrg),
          granteeRoles: Number(t.granteeRoles),
          categories: Number(t.categories),
          purposes: Number(t.purposes),
          actions: Number(t.actions),
          validFrom: t.validFrom,
          validUntil: t.validUntil,
        },
        revokedAt: Number(revokedAt),
      });
    }
    return out;
  }

  /** May `accessor` do `action` on `category` of `subject` for `purpose` now, and under which consent? */
  async check(q: {
    accessor: string;
    subject: SubjectId;
    category: CategoryName;
    purpose: PurposeName;
    action?: ActionName;
  }): Promise<ConsentDecision> {
    const d = await this.ml.chain.read(() =>
      this.ml.chain.consents.check(
        q.accessor,
        q.subject,
        Category[q.category],
        Purpose[q.purpose],
        Action[q.action ?? "READ"],
      ),
    );
    return {
      allowed: d.allowed,
      reason: denyReasonName(d.reason),
      basis: BASES[Number(d.basis)] ?? "NONE",
      consentId: d.consentId === ZERO_BYTES32 ? null : asConsentId(d.consentId),
    };
  }

  /** Opts the subject out of (or back in to) break-glass access. */
  async setBreakGlassOptOut(subject: SubjectId, optedOut: boolean): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.consents, "setBreakGlassOptOut", [subject, optedOut]);
  }

  private domain() {
    return consentDomain({
      chainId: this.ml.chain.chainId,
      verifyingContract: this.ml.opts.addressBook.contracts.ConsentRegistry.address,
    });
  }
}

class DirectoryApi {
  constructor(private readonly ml: MedLedger) {}

  /** Governance admits an organization; returns its id. */
  async admitOrganization(kind: OrgKindName, admin: string, encryptionKey: Uint8Array): Promise<number> {
    const result = await this.ml.chain.send(this.ml.chain.directory, "admitOrganization", [
      OrgKind[kind],
      admin,
      encryptionKey,
    ]);
    return Number(eventOf(result, "OrganizationAdmitted").args.orgId);
  }

  /** The organization's admin enrolls a practitioner. */
  async enrollPractitioner(p: {
    orgId: number;
    account: string;
    roles: readonly RoleName[];
    credentialValidUntil: Date | number;
    encryptionKey: Uint8Array;
  }): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "enrollPractitioner", [
      p.orgId,
      p.account,
      roleMask(p.roles),
      toSeconds(p.credentialValidUntil),
      p.encryptionKey,
    ]);
  }

  /** Registers a patient under a new random subject id (or the one given); returns it. */
  async registerPatient(p: { controller: string; encryptionKey: Uint8Array; subject?: SubjectId }): Promise<SubjectId> {
    const subject = p.subject ?? newSubjectId();
    await this.ml.chain.send(this.ml.chain.directory, "registerPatient", [subject, p.controller, p.encryptionKey]);
    return subject;
  }

  async rotatePatientKey(subject: SubjectId, encryptionKey: Uint8Array): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "rotatePatientKey", [subject, encryptionKey]);
  }

  async rotatePractitionerKey(encryptionKey: Uint8Array): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "rotatePractitionerKey", [encryptionKey]);
  }

  async rotateController(subject: SubjectId, newController: string): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "rotateController", [subject, newController]);
  }

  async setGuardian(
    subject: SubjectId,
    guardian: string,
    powers: readonly PowerName[],
    validUntil?: Date | number,
  ): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "setGuardian", [
      subject,
      guardian,
      powerMask(powers),
      toSeconds(validUntil),
    ]);
  }

  async suspendPractitioner(account: string): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "suspendPractitioner", [account]);
  }

  async suspendOrganization(orgId: number): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.directory, "suspendOrganization", [orgId]);
  }
}

class EmergencyApi {
  constructor(private readonly ml: MedLedger) {}

  /** A privacy officer closes a break-glass review. */
  async closeReview(sessionId: bigint, outcome: "JUSTIFIED" | "UNJUSTIFIED"): Promise<WriteResult> {
    return this.ml.chain.send(this.ml.chain.records, "closeReview", [sessionId, outcome === "JUSTIFIED" ? 1 : 2]);
  }

  /** Break-glass sessions of an organization still waiting for review. */
  async pendingReviews(orgId: number): Promise<number> {
    return Number(await this.ml.chain.records.pendingReviews(orgId));
  }
}

class AuditApi {
  constructor(private readonly ml: MedLedger) {}

  /** Every logged access to a subject's records (who, when, why, on what basis), oldest first. */
  async accessHistory(subject: SubjectId): Promise<AccessLogEntry[]> {
    const records = this.ml.chain.records;
    const events = await records.queryFilter(
      records.filters.RecordAccessed(undefined, subject),
      startBlock(this.ml.opts.addressBook),
    );
    const times = new Map<number, number>();
    const out: AccessLogEntry[] = [];
    for (const e of events) {
      let timestamp = times.get(e.blockNumber);
      if (timestamp === undefined) {
        timestamp = (await e.getBlock()).timestamp;
        times.set(e.blockNumber, timestamp);
      }
      out.push({
        recordId: asRecordId(e.args.recordId),
        subject: asSubjectId(e.args.subject),
        accessor: e.args.accessor,
        purpose: purposeName(Number(e.args.purpose)),
        basis: BASES[Number(e.args.basis)] ?? "NONE",
        basisId: e.args.basisId as Hex,
        blockNumber: e.blockNumber,
        timestamp,
        transactionHash: e.transactionHash,
      });
    }
    return out;
  }
}
