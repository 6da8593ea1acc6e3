/**
 * The keyholder protocol: EIP-712 messages (domain bound to the chain and the KeyholderRegistry),
 * wire shapes, and the stable refusal codes. See docs/keyholders.md ("Release protocol").
 *
 * @example
 * ```ts
 * import { keyholderDomain, KEY_RELEASE_TYPES } from "medledger/keyholder";
 * const signature = await reader.signTypedData(keyholderDomain(chainId, registry), KEY_RELEASE_TYPES, request);
 * ```
 */
import { TypedDataEncoder, verifyTypedData } from "ethers";
import type { TypedDataDomain, TypedDataField } from "ethers";

import { ErrorCodes, MedLedgerError } from "../errors.js";
import type { Hex } from "../types.js";

export const KEYHOLDER_DOMAIN_NAME = "MedLedger Keyholders";
export const KEYHOLDER_DOMAIN_VERSION = "1";

/** The EIP-712 domain of every keyholder message of one deployment. */
export function keyholderDomain(chainId: bigint | number, keyholderRegistry: string): TypedDataDomain {
  return {
    name: KEYHOLDER_DOMAIN_NAME,
    version: KEYHOLDER_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: keyholderRegistry,
  };
}

export const KEY_RELEASE_TYPES: Record<string, TypedDataField[]> = {
  KeyRelease: [
    { name: "keyholderIds", type: "uint32[]" },
    { name: "reader", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "accessTx", type: "bytes32" },
    { name: "nonce", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
};

export const KEY_PREFLIGHT_TYPES: Record<string, TypedDataField[]> = {
  KeyPreflight: [
    { name: "keyholderIds", type: "uint32[]" },
    { name: "reader", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "purpose", type: "uint8" },
    { name: "expiry", type: "uint64" },
  ],
};

export const KEY_RETIRE_TYPES: Record<string, TypedDataField[]> = {
  KeyRetire: [
    { name: "keyholderId", type: "uint32" },
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
};

export const LOG_QUERY_TYPES: Record<string, TypedDataField[]> = {
  LogQuery: [
    { name: "keyholderId", type: "uint32" },
    { name: "fromSeq", type: "uint64" },
    { name: "limit", type: "uint32" },
    { name: "expiry", type: "uint64" },
  ],
};

/** An auditor's query of a keyholder's sealed openings (the export an auditor re-derives decisions from). */
export const OPENINGS_QUERY_TYPES: Record<string, TypedDataField[]> = {
  OpeningsQuery: [
    { name: "keyholderId", type: "uint32" },
    { name: "fromRow", type: "uint64" },
    { name: "limit", type: "uint32" },
    { name: "expiry", type: "uint64" },
  ],
};

/**
 * The custodian keyholder's word that the sealed rule passed for one logged access: signed by its
 * registered account, checked by every other keyholder before it releases its share.
 */
export const POLICY_TOKEN_TYPES: Record<string, TypedDataField[]> = {
  PolicyToken: [
    { name: "keyholderId", type: "uint32" },
    { name: "reader", type: "address" },
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "accessTx", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
};

/**
 * Openings delivered to keyholders by the subject's side (consent openings: the controller or a
 * guardian; a label opening re-delivered: the record's writer, the controller or an ACCESS
 * guardian). One signature serves every keyholder: `slotHashes[i]` is keccak256 of the slot sealed
 * to `keyholderIds[i]`.
 */
export const SEALED_OPENINGS_TYPES: Record<string, TypedDataField[]> = {
  SealedOpenings: [
    { name: "keyholderIds", type: "uint32[]" },
    { name: "subject", type: "bytes32" },
    { name: "kind", type: "uint8" },
    { name: "id", type: "bytes32" },
    { name: "slotHashes", type: "bytes32[]" },
    { name: "expiry", type: "uint64" },
  ],
};

export const RESHARE_LIST_TYPES: Record<string, TypedDataField[]> = {
  ReshareList: [
    { name: "toEpoch", type: "uint64" },
    { name: "limit", type: "uint32" },
    { name: "expiry", type: "uint64" },
  ],
};

/** A coordinator's request for the records still to be reshared to `toEpoch`. */
export interface ReshareListRequest {
  toEpoch: string;
  limit: number;
  expiry: number;
}

export function parseReshareList(o: Record<string, unknown>): ReshareListRequest {
  return {
    toEpoch: uint64String(o, "toEpoch"),
    limit: int(o, "limit", 1, 1000),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export const SHARE_ENTRY_TYPE: TypedDataField[] = [
  { name: "keyholderId", type: "uint32" },
  { name: "x", type: "uint8" },
  { name: "commitment", type: "bytes32" },
];

export const SHARE_MANIFEST_TYPES: Record<string, TypedDataField[]> = {
  ShareManifest: [
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "recordRegistry", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "threshold", type: "uint8" },
    { name: "keyCheck", type: "bytes32" },
    { name: "shares", type: "ShareEntry[]" },
  ],
  ShareEntry: SHARE_ENTRY_TYPE,
};

export const SHARE_ATTESTATION_TYPES: Record<string, TypedDataField[]> = {
  ShareAttestation: [
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "threshold", type: "uint8" },
    { name: "keyholderId", type: "uint32" },
    { name: "x", type: "uint8" },
    { name: "commitment", type: "bytes32" },
  ],
};

export const RESHARE_DEAL_TYPES: Record<string, TypedDataField[]> = {
  ReshareDeal: [
    { name: "subject", type: "bytes32" },
    { name: "recordId", type: "bytes32" },
    { name: "fromEpoch", type: "uint64" },
    { name: "toEpoch", type: "uint64" },
    { name: "newThreshold", type: "uint8" },
    { name: "quorumIds", type: "uint32[]" },
    { name: "newIds", type: "uint32[]" },
    { name: "newXs", type: "uint8[]" },
    { name: "expiry", type: "uint64" },
  ],
};

export const RESHARE_SUBSHARES_TYPES: Record<string, TypedDataField[]> = {
  ReshareSubShares: [
    { name: "dealerId", type: "uint32" },
    { name: "planHash", type: "bytes32" },
    { name: "slotsHash", type: "bytes32" },
  ],
};

/** A reader's request for one keyholder's share of a record. */
export interface KeyReleaseRequest {
  /** The keyholders the request is addressed to (ascending; one signature serves them all). */
  keyholderIds: number[];
  /** The reader's account: the signer, and the accessor the access event must name. */
  reader: string;
  subject: Hex;
  recordId: Hex;
  /** The transaction that logged the reader's access on chain. */
  accessTx: Hex;
  /** 32 random bytes, never reused. */
  nonce: Hex;
  /** Unix seconds. */
  expiry: number;
}

/** "Would my read be released?" — asked before the access is logged (no phantom reads). */
export interface KeyPreflightRequest {
  /** The keyholders asked (ascending). */
  keyholderIds: number[];
  /** The reader's account (the signer). */
  reader: string;
  subject: Hex;
  recordId: Hex;
  /** The PurposeOfUse code the reader will log. */
  purpose: number;
  expiry: number;
}

/** Destroy the shares of a superseded version (re-key). */
export interface KeyRetireRequest {
  keyholderId: number;
  subject: Hex;
  recordId: Hex;
  expiry: number;
}

/** An auditor's query of a keyholder's log. */
export interface LogQueryRequest {
  keyholderId: number;
  fromSeq: number;
  limit: number;
  expiry: number;
}

/** A custodian keyholder's policy token (see {@link POLICY_TOKEN_TYPES}). */
export interface PolicyToken {
  /** The issuing (custodian) keyholder. */
  keyholderId: number;
  reader: string;
  subject: Hex;
  recordId: Hex;
  accessTx: Hex;
  /** Unix seconds; short-lived (the issuer's `policyTokenLifetimeSeconds`). */
  expiry: number;
}

export interface SignedPolicyToken {
  token: PolicyToken;
  signature: Hex;
}

/** A delivery of one kind of opening for one record or consent to several keyholders. */
export interface SealedOpeningsRequest {
  keyholderIds: number[];
  subject: Hex;
  /** 1: a record's labels (`id` = recordId); 2: a consent's sealed terms (`id` = consentId). */
  kind: number;
  id: Hex;
  slotHashes: Hex[];
  expiry: number;
}

export interface OpeningsBody {
  request: SealedOpeningsRequest;
  signature: Hex;
  /** The opening sealed to this keyholder (sdk/sealed/openings.ts). */
  slot: Hex;
}

export interface OpeningsResult {
  keyholderId: number;
  kind: number;
  id: Hex;
  commitment: Hex;
}

/** An auditor's query of a keyholder's stored openings. */
export interface OpeningsQueryRequest {
  keyholderId: number;
  fromRow: number;
  limit: number;
  expiry: number;
}

/** One stored opening as exported to an auditor (sealed under the keyholder's audit key). */
export interface ExportedOpening {
  row: number;
  kind: number;
  subject: Hex;
  id: Hex;
  /** Hex: nonce (12) ‖ ChaCha20-Poly1305 under the vault key derived from the audit key. */
  sealed: Hex;
}

/** What an auditor gets with any export: the keyholder's audit key, sealed to the auditor's registered key. */
export interface AuditKeyGrant {
  /** An opening slot of kind "secret" (sdk/sealed/openings.ts), recipient 0, bound to the auditor's account. */
  slot: Hex;
  /** The auditor's registered key version it is sealed to. */
  keyVersion: number;
}

export interface Signed<T> {
  request: T;
  signature: Hex;
}

/** One share's place in a manifest. */
export interface ShareEntry {
  keyholderId: number;
  x: number;
  commitment: Hex;
}

/** The writer-signed part of a manifest (never changes for a record version). */
export interface ManifestOrigin {
  subject: Hex;
  recordId: Hex;
  recordRegistry: string;
  /** Decimal string (uint64). */
  epoch: string;
  threshold: number;
  keyCheck: Hex;
  shares: ShareEntry[];
}

/** A share entry of the current epoch, attested by its holder after resharing. */
export interface CurrentShareEntry extends ShareEntry {
  attestation?: Hex;
}

/** A record's share manifest: the writer's origin and the shares of the current epoch. */
export interface ShareManifest {
  version: 1;
  origin: ManifestOrigin;
  writerSignature: Hex;
  current: { epoch: string; threshold: number; shares: CurrentShareEntry[] };
}

/** A writer's deposit of one keyholder's share. */
export interface DepositBody {
  manifest: ShareManifest;
  /** The share sealed to this keyholder's registered key (86 bytes, hex). */
  slot: Hex;
  /**
   * The record's label opening sealed to this keyholder (87 bytes): sent to the record's custodian
   * keyholder only. Checked against the anchor's label commitment once the record is anchored.
   */
  labelOpening?: Hex;
}

export interface DepositResult {
  keyholderId: number;
  commitment: Hex;
}

export interface PreflightResult {
  ok: true;
  keyholderId: number;
  /** Whether this keyholder is the record's custodian keyholder (it alone checked the sealed rule). */
  custodian: boolean;
  /**
   * From the custodian keyholder, for a consent read: the permit the sealed rule passes under. Log
   * the access with it as the consent hint (the release is checked under the access's consent).
   */
  consentHint?: Hex;
}

export interface ReleaseResult {
  keyholderId: number;
  x: number;
  /** The share sealed to the reader's current key, bound to the request nonce. */
  slot: Hex;
  readerKeyVersion: number;
  /** The key epoch the share belongs to. */
  epoch: string;
  manifest: ShareManifest;
  /** From the custodian keyholder: the policy token the other keyholders require. */
  policyToken?: SignedPolicyToken;
}

/** A release request; the policy token is required by every keyholder but the custodian's. */
export interface ReleaseBody extends Signed<KeyReleaseRequest> {
  token?: SignedPolicyToken;
}

export interface EraseBody {
  subject: Hex;
  recordId: Hex;
}

export interface DeletedResult {
  deleted: number;
}

/** A resharing plan (signed by the coordinating keyholder). */
export interface ReshareDeal {
  subject: Hex;
  recordId: Hex;
  fromEpoch: string;
  toEpoch: string;
  newThreshold: number;
  quorumIds: number[];
  newIds: number[];
  newXs: number[];
  expiry: number;
}

/** One dealer's sub-shares: `slots[i]` is sealed to `newIds[i]`. */
export interface DealerResponse {
  dealerId: number;
  slots: Hex[];
  signature: Hex;
}

export interface ReshareAcceptBody {
  deal: Signed<ReshareDeal>;
  /** The record's manifest of `fromEpoch` (the quorum's x coordinates are read from it). */
  manifest: ShareManifest;
  dealers: DealerResponse[];
}

export interface ReshareAcceptResult {
  keyholderId: number;
  x: number;
  commitment: Hex;
  attestation: Hex;
}

export interface ReshareFinalizeBody {
  manifest: ShareManifest;
}

export interface KeyholderInfo {
  keyholderId: number;
  account: string;
  chainId: number;
  keyholderRegistry: string;
  epoch: string;
  keyVersion: number;
}

export interface LogHead {
  seq: number;
  head: Hex;
  lastAnchor: { seq: number; head: Hex; txHash: string | null } | null;
}

/** Stable refusal codes and their HTTP statuses. */
export const RefusalCodes = {
  BAD_REQUEST: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  WRONG_KEYHOLDER: 400,
  EXPIRED: 403,
  EXPIRY_TOO_FAR: 400,
  BAD_SIGNATURE: 401,
  RATE_LIMITED: 429,
  REPLAYED: 409,
  UNKNOWN_RECORD: 404,
  NO_ACCESS_EVENT: 403,
  ACCESS_NOT_YOURS: 403,
  NOT_CONFIRMED: 425,
  STALE_ACCESS: 403,
  ERASED: 410,
  MANIFEST_MISMATCH: 409,
  REVOKED: 403,
  CONSENT_EXPIRED: 403,
  DENIED: 403,
  NOT_PERMITTED: 403,
  SUSPENDED: 403,
  ORGANIZATION_SUSPENDED: 403,
  CREDENTIAL_EXPIRED: 403,
  UNKNOWN_READER: 403,
  SESSION_CLOSED: 403,
  OPTED_OUT: 403,
  NO_READER_KEY: 409,
  SEALED_DENIED: 403,
  TOKEN_MISSING: 403,
  TOKEN_INVALID: 403,
  TOKEN_EXPIRED: 403,
  BAD_OPENING: 400,
  OPENING_MISMATCH: 409,
  UNKNOWN_CONSENT: 404,
  NOT_AUTHORIZED: 403,
  NOT_WRITER: 403,
  STALE_EPOCH: 409,
  BAD_SHARE: 400,
  CONFLICT: 409,
  ANCHORED_BY_OTHER: 409,
  NOT_ERASED: 409,
  NOT_SUPERSEDED: 409,
  NOT_KEYHOLDER: 403,
  NOT_AUDITOR: 403,
  RESHARE_INVALID: 400,
  NOT_READY: 503,
  CHAIN_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type RefusalCode = keyof typeof RefusalCodes;

export function isRefusalCode(value: unknown): value is RefusalCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(RefusalCodes, value);
}

/** A keyholder refused (or could not serve) a request; `code` is stable, `status` the HTTP status. */
export class KeyholderRefusal extends MedLedgerError {
  override name = "KeyholderRefusal";
  readonly refusal: RefusalCode;
  readonly status: number;
  constructor(code: RefusalCode, message: string, details?: string) {
    super(ErrorCodes.KEY_UNAVAILABLE, message, details === undefined ? {} : { details });
    this.refusal = code;
    this.status = RefusalCodes[code];
  }
  /** The JSON body of the HTTP answer. */
  toJSON(): { code: RefusalCode; message: string; details?: string } {
    return this.details === undefined
      ? { code: this.refusal, message: this.shortMessage }
      : { code: this.refusal, message: this.shortMessage, details: this.details };
  }
}

export function refuse(code: RefusalCode, message: string, details?: string): never {
  throw new KeyholderRefusal(code, message, details);
}

/** Recovers the signer of typed data; BAD_SIGNATURE when malformed. */
export function recoverTypedSigner(
  domain: TypedDataDomain,
  types: Record<string, TypedDataField[]>,
  value: Record<string, unknown>,
  signature: string,
): string {
  try {
    return verifyTypedData(domain, types, value, signature);
  } catch (err) {
    return refuse("BAD_SIGNATURE", "The signature does not verify", String((err as Error).message).slice(0, 200));
  }
}

/** The EIP-712 hash of typed data (for stable ids of plans and manifests). */
export function typedHash(
  domain: TypedDataDomain,
  types: Record<string, TypedDataField[]>,
  value: Record<string, unknown>,
): Hex {
  return TypedDataEncoder.hash(domain, types, value) as Hex;
}

// ───────────────────────── validation of untrusted input ─────────────────────────

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const UINT64_MAX = (1n << 64n) - 1n;

function bad(what: string): never {
  return refuse("BAD_REQUEST", `Invalid request: ${what}`);
}

export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad(`${what} must be an object`);
  return value as Record<string, unknown>;
}

export function hex32(o: Record<string, unknown>, key: string): Hex {
  const v = o[key];
  if (typeof v !== "string" || !HEX32.test(v)) bad(`${key} must be 0x + 64 hex digits`);
  return v.toLowerCase() as Hex;
}

export function address(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== "string" || !ADDRESS.test(v)) bad(`${key} must be an address`);
  return v;
}

export function hexBytes(o: Record<string, unknown>, key: string, length: number): Hex {
  const v = o[key];
  if (typeof v !== "string" || v.length !== 2 + 2 * length || !/^0x[0-9a-fA-F]*$/.test(v)) {
    bad(`${key} must be ${length} bytes of hex`);
  }
  return v.toLowerCase() as Hex;
}

export function signature(o: Record<string, unknown>, key = "signature"): Hex {
  const v = o[key];
  if (typeof v !== "string" || !SIGNATURE.test(v)) bad(`${key} must be a 65-byte signature`);
  return v as Hex;
}

export function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max)
    bad(`${key} must be an integer in ${min}..${max}`);
  return v;
}

export function uint64String(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > UINT64_MAX)
    bad(`${key} must be a uint64 decimal string`);
  return v;
}

function intArray(o: Record<string, unknown>, key: string, min: number, max: number, maxLength: number): number[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0 || v.length > maxLength) bad(`${key} must be a non-empty array`);
  return (v as unknown[]).map((_, i) => int(v as unknown as Record<string, unknown>, String(i), min, max));
}

const MAX_KEYHOLDERS = 64;
const U32 = 0xffff_ffff;
const U64_SAFE = Number.MAX_SAFE_INTEGER;

export function parseSigned<T>(body: unknown, parse: (o: Record<string, unknown>) => T): Signed<T> {
  const o = asObject(body, "body");
  return { request: parse(asObject(o.request, "request")), signature: signature(o) };
}

export function parseRelease(o: Record<string, unknown>): KeyReleaseRequest {
  return {
    keyholderIds: intArray(o, "keyholderIds", 1, U32, MAX_KEYHOLDERS),
    reader: address(o, "reader"),
    subject: hex32(o, "subject"),
    recordId: hex32(o, "recordId"),
    accessTx: hex32(o, "accessTx"),
    nonce: hex32(o, "nonce"),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export function parsePreflight(o: Record<string, unknown>): KeyPreflightRequest {
  return {
    keyholderIds: intArray(o, "keyholderIds", 1, U32, MAX_KEYHOLDERS),
    reader: address(o, "reader"),
    subject: hex32(o, "subject"),
    recordId: hex32(o, "recordId"),
    purpose: int(o, "purpose", 0, 255),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export function parsePolicyToken(value: unknown): SignedPolicyToken {
  const o = asObject(value, "token");
  const t = asObject(o.token, "token.token");
  return {
    token: {
      keyholderId: int(t, "keyholderId", 1, U32),
      reader: address(t, "reader"),
      subject: hex32(t, "subject"),
      recordId: hex32(t, "recordId"),
      accessTx: hex32(t, "accessTx"),
      expiry: int(t, "expiry", 0, U64_SAFE),
    },
    signature: signature(o),
  };
}

/** A release body: the signed request and, for a non-custodian keyholder, the policy token. */
export function parseReleaseBody(body: unknown): ReleaseBody {
  const signed = parseSigned(body, parseRelease);
  const o = asObject(body, "body");
  return o.token === undefined ? signed : { ...signed, token: parsePolicyToken(o.token) };
}

export function parseOpeningsQuery(o: Record<string, unknown>): OpeningsQueryRequest {
  return {
    keyholderId: int(o, "keyholderId", 1, U32),
    fromRow: int(o, "fromRow", 0, U64_SAFE),
    limit: int(o, "limit", 1, 10_000),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

function hex32Array(o: Record<string, unknown>, key: string, maxLength: number): Hex[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0 || v.length > maxLength) bad(`${key} must be a non-empty array`);
  return (v as unknown[]).map((_, i) => hex32(v as unknown as Record<string, unknown>, String(i)));
}

export function parseOpeningsRequest(o: Record<string, unknown>): SealedOpeningsRequest {
  const r: SealedOpeningsRequest = {
    keyholderIds: intArray(o, "keyholderIds", 1, U32, MAX_KEYHOLDERS),
    subject: hex32(o, "subject"),
    kind: int(o, "kind", 1, 2),
    id: hex32(o, "id"),
    slotHashes: hex32Array(o, "slotHashes", MAX_KEYHOLDERS),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
  if (r.slotHashes.length !== r.keyholderIds.length) bad("slotHashes must match keyholderIds one to one");
  return r;
}

export function parseOpenings(body: unknown): OpeningsBody {
  const signed = parseSigned(body, parseOpeningsRequest);
  const o = asObject(body, "body");
  return { ...signed, slot: hexBytes(o, "slot", signed.request.kind === 1 ? 87 : 90) };
}

export function parseRetire(o: Record<string, unknown>): KeyRetireRequest {
  return {
    keyholderId: int(o, "keyholderId", 1, U32),
    subject: hex32(o, "subject"),
    recordId: hex32(o, "recordId"),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export function parseLogQuery(o: Record<string, unknown>): LogQueryRequest {
  return {
    keyholderId: int(o, "keyholderId", 1, U32),
    fromSeq: int(o, "fromSeq", 0, U64_SAFE),
    limit: int(o, "limit", 1, 10_000),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export function parseErase(body: unknown): EraseBody {
  const o = asObject(body, "body");
  return { subject: hex32(o, "subject"), recordId: hex32(o, "recordId") };
}

function parseEntries(v: unknown, what: string, allowAttestation: boolean): CurrentShareEntry[] {
  if (!Array.isArray(v) || v.length < 2 || v.length > MAX_KEYHOLDERS)
    bad(`${what} must list 2..${MAX_KEYHOLDERS} shares`);
  return (v as unknown[]).map((e, i) => {
    const o = asObject(e, `${what}[${i}]`);
    const entry: CurrentShareEntry = {
      keyholderId: int(o, "keyholderId", 1, U32),
      x: int(o, "x", 1, 255),
      commitment: hex32(o, "commitment"),
    };
    if (allowAttestation && o.attestation !== undefined) entry.attestation = signature(o, "attestation");
    return entry;
  });
}

export function parseManifest(value: unknown): ShareManifest {
  const o = asObject(value, "manifest");
  if (o.version !== 1) bad("manifest.version must be 1");
  const origin = asObject(o.origin, "manifest.origin");
  const current = asObject(o.current, "manifest.current");
  return {
    version: 1,
    origin: {
      subject: hex32(origin, "subject"),
      recordId: hex32(origin, "recordId"),
      recordRegistry: address(origin, "recordRegistry"),
      epoch: uint64String(origin, "epoch"),
      threshold: int(origin, "threshold", 2, 255),
      keyCheck: hex32(origin, "keyCheck"),
      shares: parseEntries(origin.shares, "origin.shares", false).map(({ keyholderId, x, commitment }) => ({
        keyholderId,
        x,
        commitment,
      })),
    },
    writerSignature: signature(o, "writerSignature"),
    current: {
      epoch: uint64String(current, "epoch"),
      threshold: int(current, "threshold", 2, 255),
      shares: parseEntries(current.shares, "current.shares", true),
    },
  };
}

export function parseDeposit(body: unknown): DepositBody {
  const o = asObject(body, "body");
  const deposit: DepositBody = { manifest: parseManifest(o.manifest), slot: hexBytes(o, "slot", 86) };
  if (o.labelOpening !== undefined) deposit.labelOpening = hexBytes(o, "labelOpening", 87);
  return deposit;
}

export function parseDeal(o: Record<string, unknown>): ReshareDeal {
  return {
    subject: hex32(o, "subject"),
    recordId: hex32(o, "recordId"),
    fromEpoch: uint64String(o, "fromEpoch"),
    toEpoch: uint64String(o, "toEpoch"),
    newThreshold: int(o, "newThreshold", 2, 255),
    quorumIds: intArray(o, "quorumIds", 1, U32, MAX_KEYHOLDERS),
    newIds: intArray(o, "newIds", 1, U32, MAX_KEYHOLDERS),
    newXs: intArray(o, "newXs", 1, 255, MAX_KEYHOLDERS),
    expiry: int(o, "expiry", 0, U64_SAFE),
  };
}

export function parseAccept(body: unknown): ReshareAcceptBody {
  const o = asObject(body, "body");
  const dealers = o.dealers;
  if (!Array.isArray(dealers) || dealers.length === 0 || dealers.length > MAX_KEYHOLDERS)
    bad("dealers must be a non-empty array");
  return {
    deal: parseSigned(o.deal, parseDeal),
    manifest: parseManifest(o.manifest),
    dealers: (dealers as unknown[]).map((d, i) => {
      const r = asObject(d, `dealers[${i}]`);
      const slots = r.slots;
      if (!Array.isArray(slots) || slots.length === 0 || slots.length > MAX_KEYHOLDERS)
        bad("dealer slots must be an array");
      return {
        dealerId: int(r, "dealerId", 1, U32),
        slots: (slots as unknown[]).map((_, j) => hexBytes(slots as unknown as Record<string, unknown>, String(j), 86)),
        signature: signature(r),
      };
    }),
  };
}

export function parseFinalize(body: unknown): ReshareFinalizeBody {
  return { manifest: parseManifest(asObject(body, "body").manifest) };
}

/** The EIP-712 value of a manifest origin. */
export function originTypedValue(origin: ManifestOrigin): Record<string, unknown> {
  return { ...origin, epoch: BigInt(origin.epoch) };
}
