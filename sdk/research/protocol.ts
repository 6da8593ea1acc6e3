/**
 * The aggregation protocol's messages (docs/research.md, "Aggregation protocol"): EIP-712 typed
 * data in the domain `{ name: "MedLedger Aggregation", version: "1", chainId, verifyingContract:
 * StudyRegistry }`, and the JSON wire shapes with their validation (a malformed body is refused
 * with `BAD_REQUEST` before anything else).
 *
 * ```
 * AggregationShare(bytes32 studyId,uint32 runId,uint32 keyholderId,uint32 custodianOrg,bytes32 commitment,bytes32 slotDigest,uint64 expiry)
 * SumShareRequest(bytes32 studyId,uint32 runId,uint32 keyholderId,address researcher,uint64 expiry)
 * ```
 *
 * @example
 * ```ts
 * import { aggregationDomain, AGGREGATION_SHARE_TYPES } from "medledger/research";
 * const signature = await steward.signTypedData(aggregationDomain(chainId, studyRegistry), AGGREGATION_SHARE_TYPES, delivery);
 * ```
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

import type { Hex } from "../types.js";
import { ShareRefusedError } from "./errors.js";

export const AGGREGATION_DOMAIN_NAME = "MedLedger Aggregation";
export const AGGREGATION_DOMAIN_VERSION = "1";

/** The EIP-712 domain of every aggregation message of one deployment. */
export function aggregationDomain(chainId: bigint | number, studyRegistry: string): TypedDataDomain {
  return {
    name: AGGREGATION_DOMAIN_NAME,
    version: AGGREGATION_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: studyRegistry,
  };
}

export const AGGREGATION_SHARE_TYPES: Record<string, TypedDataField[]> = {
  AggregationShare: [
    { name: "studyId", type: "bytes32" },
    { name: "runId", type: "uint32" },
    { name: "keyholderId", type: "uint32" },
    { name: "custodianOrg", type: "uint32" },
    { name: "commitment", type: "bytes32" },
    { name: "slotDigest", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
};

export const SUM_SHARE_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  SumShareRequest: [
    { name: "studyId", type: "bytes32" },
    { name: "runId", type: "uint32" },
    { name: "keyholderId", type: "uint32" },
    { name: "researcher", type: "address" },
    { name: "expiry", type: "uint64" },
  ],
};

/** A custodian's delivery of one sealed share to one server. */
export interface ShareDelivery {
  studyId: Hex;
  runId: number;
  keyholderId: number;
  custodianOrg: number;
  commitment: Hex;
  /** sha256 of the slot. */
  slotDigest: Hex;
  expiry: number;
}

export interface ShareDeliveryBody {
  delivery: ShareDelivery;
  signature: Hex;
  /** The sealed share (hex). */
  slot: Hex;
}

export interface SumShareRequest {
  studyId: Hex;
  runId: number;
  keyholderId: number;
  researcher: string;
  expiry: number;
}

export interface SumShareRequestBody {
  request: SumShareRequest;
  signature: Hex;
}

export interface AggregateBody {
  studyId: Hex;
  runId: number;
  /** The study's query document: needed when the study adds noise (ε > 0). */
  query?: unknown;
}

/** What a server answers to a delivery. */
export interface ShareReceipt {
  keyholderId: number;
  commitment: Hex;
}

/** What a server answers to `aggregate`. */
export interface AggregateAnswer {
  keyholderId: number;
  commitment: Hex;
  contributorsDigest: Hex;
  contributors: number[];
  /** The publishing transaction (absent when it was published earlier and not by this call). */
  txHash?: Hex;
}

/** A sealed sum-share for the researcher. */
export interface SumShareAnswer {
  keyholderId: number;
  slot: Hex;
  commitment: Hex;
  contributorsDigest: Hex;
}

/** What a server holds for a run (no values). */
export interface RunStatus {
  keyholderId: number;
  /** Custodian organizations whose share it holds. */
  shares: number[];
  sum: { commitment: Hex; published: boolean } | null;
}

// ───────────────────────────── validation ─────────────────────────────

const B32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX = /^0x(?:[0-9a-fA-F]{2})+$/;

const bad = (what: string): never => {
  throw new ShareRefusedError("BAD_REQUEST", `Malformed request: ${what}`);
};

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function b32(o: Record<string, unknown>, k: string): Hex {
  const v = o[k];
  if (typeof v !== "string" || !B32.test(v)) bad(`${k} is not 32 bytes of hex`);
  return (v as string).toLowerCase() as Hex;
}

function u32(o: Record<string, unknown>, k: string, min = 0): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > 0xffff_ffff) bad(`${k} is not a uint32`);
  return v as number;
}

function expiry(o: Record<string, unknown>): number {
  const v = o.expiry;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) bad("expiry is not a time in seconds");
  return v as number;
}

function hex(o: Record<string, unknown>, k: string, maxBytes: number): Hex {
  const v = o[k];
  if (typeof v !== "string" || !HEX.test(v) || v.length > 2 + 2 * maxBytes)
    bad(`${k} is not hex (≤ ${maxBytes} bytes)`);
  return (v as string).toLowerCase() as Hex;
}

/** The most bytes a sealed share may have (MAX_CELLS elements). */
export const MAX_SLOT_BYTES = 37 + 32 + 8 * (1 << 16) + 16;

export function parseShareDelivery(body: unknown): ShareDeliveryBody {
  const o = obj(body, "body");
  const d = obj(o.delivery, "delivery");
  return {
    delivery: {
      studyId: b32(d, "studyId"),
      runId: u32(d, "runId", 1),
      keyholderId: u32(d, "keyholderId", 1),
      custodianOrg: u32(d, "custodianOrg", 1),
      commitment: b32(d, "commitment"),
      slotDigest: b32(d, "slotDigest"),
      expiry: expiry(d),
    },
    signature: hex(o, "signature", 65),
    slot: hex(o, "slot", MAX_SLOT_BYTES),
  };
}

export function parseSumShareRequest(body: unknown): SumShareRequestBody {
  const o = obj(body, "body");
  const r = obj(o.request, "request");
  const researcher = r.researcher;
  if (typeof researcher !== "string" || !ADDRESS.test(researcher)) bad("researcher is not an address");
  return {
    request: {
      studyId: b32(r, "studyId"),
      runId: u32(r, "runId", 1),
      keyholderId: u32(r, "keyholderId", 1),
      researcher: researcher as string,
      expiry: expiry(r),
    },
    signature: hex(o, "signature", 65),
  };
}

export function parseAggregate(body: unknown): AggregateBody {
  const o = obj(body, "body");
  const out: AggregateBody = { studyId: b32(o, "studyId"), runId: u32(o, "runId", 1) };
  if (o.query !== undefined) out.query = o.query;
  return out;
}

export function parseRunRef(body: unknown): { studyId: Hex; runId: number } {
  const o = obj(body, "body");
  return { studyId: b32(o, "studyId"), runId: u32(o, "runId", 1) };
}
