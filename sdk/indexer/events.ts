/**
 * Decoding MedLedger logs (with the TypeChain interfaces of the 1.1 contracts) and projecting each
 * decoded event onto the row it becomes in the index ({@link TABLES}).
 *
 * The projection is the ONE place where an event becomes data: the indexer stores its rows, and
 * the chain-direct query source builds the very same rows from `eth_getLogs` and filters them in
 * memory, so both sources answer every query identically.
 *
 * @example
 * ```ts
 * import { LogDecoder, projectEvent } from "medledger/indexer";
 * const decoder = new LogDecoder(deployment.addresses);
 * const event = decoder.decode(rawLog);
 * if (event !== undefined) console.log(projectEvent(event, timestamp, orgOf));
 * ```
 */
import type { EventFragment, Interface, ParamType } from "ethers";

import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { AddressBook } from "../chain/addressBook.js";
import { InvalidInputError } from "../errors.js";
import { IndexerError } from "./errors.js";
import { positionOf } from "./schema.js";
import type { TableName } from "./schema.js";
import type { SqlValue } from "./store/types.js";

export type ContractKey = "directory" | "consents" | "records" | "keyholders";

/** The contract addresses of one deployment (the keyholder registry is optional). */
export interface DeploymentAddresses {
  directory: string;
  consents: string;
  records: string;
  keyholders?: string;
}

/** What the indexer follows: a chain, a deployment's addresses and the block to start from. */
export interface Deployment {
  chainId: number;
  addresses: DeploymentAddresses;
  /** The earliest deployment block: nothing before it is read. */
  startBlock: number;
}

/**
 * The deployment described by an address book (`deployments/<network>.json`).
 *
 * @example
 * ```ts
 * import { readAddressBook } from "medledger";
 * import { deploymentFromAddressBook } from "medledger/indexer";
 * const deployment = deploymentFromAddressBook(await readAddressBook("deployments/localhost.json"));
 * ```
 */
export function deploymentFromAddressBook(book: AddressBook): Deployment {
  const c = book.contracts as Partial<Record<string, { address: string; blockNumber: number }>>;
  const entry = (name: string): { address: string; blockNumber: number } | undefined => c[name];
  const required = (name: string): { address: string; blockNumber: number } => {
    const e = entry(name);
    if (e === undefined) throw new InvalidInputError(`The address book has no ${name}`);
    return e;
  };
  const directory = required("ParticipantDirectory");
  const consents = required("ConsentRegistry");
  const records = required("RecordRegistry");
  const keyholders = entry("KeyholderRegistry");
  const all = [directory, consents, records, ...(keyholders === undefined ? [] : [keyholders])];
  return {
    chainId: book.chainId,
    addresses: {
      directory: directory.address,
      consents: consents.address,
      records: records.address,
      ...(keyholders === undefined ? {} : { keyholders: keyholders.address }),
    },
    startBlock: Math.min(...all.map((e) => e.blockNumber)),
  };
}

/** A log as the JSON-RPC node returns it, with numbers decoded. */
export interface RawLog {
  address: string;
  topics: readonly string[];
  data: string;
  blockNumber: number;
  logIndex: number;
  transactionHash: string;
  blockHash: string;
  removed?: boolean;
}

/**
 * Decoded event arguments in ABI order: integers as bigint (or, up to 48 bits, as number), addresses and fixed bytes as 0x-hex
 * (their case is not significant), booleans, strings, static tuples as arrays.
 */
export type DecodedArgs = readonly unknown[];

/** A decoded MedLedger event. */
export interface DecodedEvent {
  contract: ContractKey;
  name: string;
  fragment: EventFragment;
  args: DecodedArgs;
  pos: number;
  blockNumber: number;
  logIndex: number;
  transactionHash: string;
  blockHash: string;
}

const FACTORIES: readonly [ContractKey, { createInterface(): Interface }][] = [
  ["directory", ParticipantDirectory__factory],
  ["consents", ConsentRegistry__factory],
  ["records", RecordRegistry__factory],
  ["keyholders", KeyholderRegistry__factory],
];

interface Source {
  contract: ContractKey;
  iface: Interface;
  byTopic: Map<string, { fragment: EventFragment; fast: FastDecoder | undefined }>;
}

type FastDecoder = (topics: readonly string[], data: string) => unknown[] | undefined;
type WordReader = (word: string) => unknown;

/** Reads one 32-byte ABI word (64 hex digits) of a static elementary type, per the ABI's type. */
function wordReader(param: ParamType): WordReader | undefined {
  const type = param.type;
  if (type === "address") return (w) => `0x${w.slice(24)}`;
  if (type === "bool") return (w) => w.charCodeAt(63) === 49; // "1"
  let m = /^uint(\d+)$/.exec(type);
  if (m !== null) {
    // Masked to the type's width, as ethers does; up to 48 bits a JS number is exact and cheaper.
    const bits = Number(m[1]);
    return bits <= 48 ? (w) => parseInt(w.slice(64 - bits / 4), 16) : (w) => BigInt.asUintN(bits, BigInt(`0x${w}`));
  }
  m = /^int(\d+)$/.exec(type);
  if (m !== null) {
    const bits = Number(m[1]);
    return (w) => BigInt.asIntN(bits, BigInt(`0x${w}`));
  }
  m = /^bytes(\d+)$/.exec(type);
  if (m !== null) {
    const size = Number(m[1]) * 2;
    return (w) => `0x${w.slice(0, size)}`;
  }
  return undefined;
}

/**
 * A decoder specialised from an event's ABI fragment when every argument is static (elementary
 * types and tuples of them): it reads words straight from the hex, an order of magnitude faster
 * than the generic ABI decoder. Undefined for events with dynamic arguments (strings), which go
 * through ethers' `decodeEventLog`. A test checks both decoders agree on every event.
 */
function compileFastDecoder(fragment: EventFragment): FastDecoder | undefined {
  const steps: ((topics: readonly string[], data: string) => unknown)[] = [];
  let topic = 1;
  let words = 0;
  const wordAt = (data: string, i: number): string => data.slice(2 + 64 * i, 66 + 64 * i);
  for (const input of fragment.inputs) {
    if (input.indexed) {
      const read = wordReader(input);
      if (read === undefined) return undefined;
      const t = topic++;
      steps.push((topics) => read(topics[t]!.slice(2)));
    } else if (input.baseType === "tuple") {
      const readers = (input.components ?? []).map(wordReader);
      if (input.components === null || readers.some((r) => r === undefined)) return undefined;
      const start = words;
      words += readers.length;
      steps.push((_, data) => readers.map((read, j) => read!(wordAt(data, start + j))));
    } else {
      const read = wordReader(input);
      if (read === undefined) return undefined;
      const w = words++;
      steps.push((_, data) => read(wordAt(data, w)));
    }
  }
  const dataLength = 2 + 64 * words;
  const topicCount = topic;
  return (topics, data) => {
    if (data.length !== dataLength || topics.length !== topicCount) return undefined;
    return steps.map((step) => step(topics, data));
  };
}

/**
 * Decodes logs of one deployment with the contracts' TypeChain ABIs (their own events and the
 * inherited ones: OpenZeppelin's RoleGranted, EIP712DomainChanged …). A log with a topic no ABI
 * declares decodes to `undefined`.
 *
 * @example
 * ```ts
 * import { LogDecoder } from "medledger/indexer";
 * const decoder = new LogDecoder({ directory, consents, records });
 * const topics = decoder.topicsOf("records", ["RecordAccessed"]);
 * ```
 */
export class LogDecoder {
  readonly #byAddress = new Map<string, Source>();
  readonly #byContract = new Map<ContractKey, Source & { address: string }>();

  readonly #fast: boolean;

  /**
   * @param addresses the deployment's contracts
   * @param opts `fast: false` decodes every event with ethers' generic decoder (for cross-checks)
   */
  constructor(addresses: DeploymentAddresses, opts: { fast?: boolean } = {}) {
    this.#fast = opts.fast ?? true;
    for (const [contract, factory] of FACTORIES) {
      const address = addresses[contract];
      if (address === undefined) continue;
      if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
        throw new InvalidInputError(`Invalid ${contract} contract address`, { details: address });
      }
      const iface = factory.createInterface();
      // Topic → fragment, computed once from the ABI (ethers' getEvent hashes every fragment per call).
      const byTopic: Source["byTopic"] = new Map();
      iface.forEachEvent((fragment) =>
        byTopic.set(fragment.topicHash, { fragment, fast: compileFastDecoder(fragment) }),
      );
      const source = { contract, iface, byTopic };
      this.#byAddress.set(address.toLowerCase(), source);
      this.#byContract.set(contract, { ...source, address: address.toLowerCase() });
    }
  }

  /** The addresses to query, in a fixed order. */
  get addresses(): string[] {
    return [...this.#byContract.values()].map((s) => s.address);
  }

  /** The address of one contract (undefined if the deployment has none). */
  addressOf(contract: ContractKey): string | undefined {
    return this.#byContract.get(contract)?.address;
  }

  /** The topic hashes of the named events of a contract (for eth_getLogs topic filters). */
  topicsOf(contract: ContractKey, names: readonly string[]): string[] {
    const source = this.#byContract.get(contract);
    if (source === undefined) return [];
    return names.map((name) => {
      const fragment = source.iface.getEvent(name);
      if (fragment === null) throw new InvalidInputError(`No event ${name} in the ${contract} ABI`);
      return fragment.topicHash;
    });
  }

  /** Decodes one log; undefined if it is not a MedLedger event this decoder knows. */
  decode(log: RawLog): DecodedEvent | undefined {
    const source = this.#byAddress.get(log.address.toLowerCase());
    const topic = log.topics[0];
    if (source === undefined || topic === undefined) return undefined;
    const known = source.byTopic.get(topic);
    if (known === undefined) return undefined;
    const { fragment, fast } = known;
    let args: DecodedArgs | undefined = this.#fast ? fast?.(log.topics, log.data) : undefined;
    try {
      args ??= source.iface.decodeEventLog(fragment, log.data, log.topics);
    } catch (cause) {
      throw new IndexerError("UNDECODABLE_LOG", `Cannot decode ${fragment.name} at ${log.transactionHash}`, {
        cause,
        details: `block ${log.blockNumber}, log ${log.logIndex}`,
        hint: "The address book may name contracts of another version than this SDK's ABI.",
      });
    }
    return {
      contract: source.contract,
      name: fragment.name,
      fragment,
      args,
      pos: positionOf(log.blockNumber, log.logIndex),
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      blockHash: log.blockHash,
    };
  }
}

// ───────────────────────────── projection ─────────────────────────────

/** A row of one table, values in {@link TABLES} column order. */
export interface ProjectedRow {
  table: TableName;
  values: SqlValue[];
}

/** What the projection needs from earlier events: the organization of a practitioner account. */
export type OrgLookup = (account: string) => number;

const HEX_PAIRS = new Map<string, number>();
for (let i = 0; i < 256; i++) HEX_PAIRS.set(i.toString(16).padStart(2, "0"), i);

/** 0x-hex → bytes (fast path through Buffer when present; browser-safe otherwise). */
export function hexToBytes(hex: string): Uint8Array {
  const B = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (B !== undefined) return B.from(hex.slice(2), "hex");
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = HEX_PAIRS.get(hex.slice(2 + 2 * i, 4 + 2 * i).toLowerCase()) ?? 0;
  return out;
}

/** bytes → 0x-hex (lowercase). */
export function bytesToHex(bytes: Uint8Array): string {
  const B = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (B !== undefined)
    return `0x${(Buffer.isBuffer(bytes) ? bytes : B.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString("hex")}`;
  let s = "0x";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

const n = (v: unknown): number => Number(v);
/**
 * Hex → bytes through a bounded cache: within a page the same transaction hash, subject, record
 * and accessor recur on many logs. The arrays are shared and never mutated.
 */
const bytesCache = new Map<string, Uint8Array>();
const b = (v: unknown): Uint8Array => {
  const hexValue = v as string;
  let bytes = bytesCache.get(hexValue);
  if (bytes === undefined) {
    if (bytesCache.size >= 65_536) bytesCache.clear();
    bytes = hexToBytes(hexValue);
    bytesCache.set(hexValue, bytes);
  }
  return bytes;
};
const flag = (v: unknown): number => (v === true ? 1 : 0);

/** RecordProven rows carry their batch's custodian and pointer when known (from the batch's row). */
const PROVEN_KIND = 1;

/**
 * The row an event becomes. `time` is its block's timestamp; `orgOf` gives a practitioner's
 * organization (the projection of PractitionerEnrolled events seen earlier).
 *
 * @example
 * ```ts
 * import { projectEvent } from "medledger/indexer";
 * const row = projectEvent(event, 1_700_000_000, (account) => orgs.get(account) ?? 0);
 * ```
 */
export function projectEvent(e: DecodedEvent, time: number, orgOf: OrgLookup): ProjectedRow {
  const a = e.args;
  const tx = b(e.transactionHash);
  switch (e.name) {
    case "RecordAccessed":
      return {
        table: "accesses",
        values: [e.pos, tx, b(a[0]), b(a[1]), b(a[2]), orgOf(a[2] as string), n(a[3]), n(a[4]), b(a[5]), time],
      };
    case "ConsentGranted": {
      const t = a[3] as DecodedArgs;
      return {
        table: "consents",
        values: [
          e.pos,
          tx,
          b(a[0]),
          b(a[1]),
          n(t[0]),
          n(t[1]),
          b(t[2]),
          n(t[3]),
          n(t[4]),
          n(t[5]),
          n(t[6]),
          n(t[7]),
          n(t[8]),
          n(t[9]),
          b(t[10]),
          b(a[4]),
          flag(a[5]),
          time,
        ],
      };
    }
    case "ConsentRevoked":
      return { table: "revocations", values: [e.pos, tx, b(a[0]), b(a[1]), b(a[2]), n(a[3]), flag(a[4]), time] };
    case "RecordAnchored":
      // subject, recordId, custodian, category, digest, labelCommitment, previous, pointer, anchoredBy, consentId
      return {
        table: "records",
        values: [
          e.pos,
          tx,
          0,
          b(a[0]),
          b(a[1]),
          n(a[2]),
          n(a[3]),
          b(a[4]),
          b(a[5]),
          b(a[6]),
          a[7] as string,
          b(a[8]),
          b(a[9]),
          ZERO32,
          time,
          0,
          time,
        ],
      };
    case "RecordProven":
      // subject, recordId, root, category, digest, labelCommitment (custodian/pointer: the batch's)
      return {
        table: "records",
        values: [
          e.pos,
          tx,
          PROVEN_KIND,
          b(a[0]),
          b(a[1]),
          -1,
          n(a[3]),
          b(a[4]),
          b(a[5]),
          ZERO32,
          "",
          ZERO20,
          ZERO32,
          b(a[2]),
          time,
          0,
          time,
        ],
      };
    case "RecordImported":
      // subject, recordId, custodian, category, digest, labelCommitment, previous, anchoredAt, erasedAt
      return {
        table: "records",
        values: [
          e.pos,
          tx,
          2,
          b(a[0]),
          b(a[1]),
          n(a[2]),
          n(a[3]),
          b(a[4]),
          b(a[5]),
          b(a[6]),
          "",
          ZERO20,
          ZERO32,
          ZERO32,
          n(a[7]),
          n(a[8]),
          time,
        ],
      };
    case "BatchAnchored":
      // subject, root, tag, custodian, count, categories, pointer, anchoredBy
      return {
        table: "batches",
        values: [e.pos, tx, b(a[0]), b(a[1]), b(a[2]), n(a[3]), n(a[4]), n(a[5]), a[6] as string, b(a[7]), time],
      };
    case "RecordErased":
      return { table: "erasures", values: [e.pos, tx, b(a[0]), b(a[1]), b(a[2]), time] };
    case "BreakGlassDeclared":
      // sessionId, subject, responder, orgId, purpose, reasonCode, expiresAt
      return {
        table: "sessions",
        values: [e.pos, tx, n(a[0]), b(a[1]), b(a[2]), n(a[3]), n(a[4]), n(a[5]), n(a[6]), time],
      };
    case "BreakGlassReviewed":
      return { table: "reviews", values: [e.pos, tx, n(a[0]), b(a[1]), n(a[2]), n(a[3]), time] };
    case "PractitionerEnrolled":
      // account, orgId, practitionerId, roles, credentialValidUntil, encryptionKey, keyVersion
      return { table: "practitioners", values: [e.pos, tx, b(a[0]), n(a[1]), n(a[2]), n(a[3]), n(a[4]), time] };
    case "ReleaseLogAnchored":
      return { table: "log_anchors", values: [e.pos, tx, n(a[0]), n(a[1]), b(a[2]), time] };
    default:
      return {
        table: "events",
        values: [e.pos, tx, e.contract, e.name, firstIndexed(e), canonicalArgs(e), time],
      };
  }
}

const ZERO32 = new Uint8Array(32);
const ZERO20 = new Uint8Array(20);

/** The first indexed argument as text (lowercase hex or decimal), '' if none. */
function firstIndexed(e: DecodedEvent): string {
  const i = e.fragment.inputs.findIndex((p) => p.indexed);
  return i < 0 ? "" : (jsonValue(e.args[i]) as string);
}

function jsonValue(v: unknown): unknown {
  if (typeof v === "bigint" || typeof v === "number") return v.toString();
  if (typeof v === "string") return v.toLowerCase();
  if (Array.isArray(v)) return v.map(jsonValue);
  return v;
}

/** The arguments as canonical JSON: names in ABI order, integers as decimal strings, hex lowercase. */
export function canonicalArgs(e: DecodedEvent): string {
  const out: Record<string, unknown> = {};
  e.fragment.inputs.forEach((input, i) => {
    const v: unknown = e.args[i];
    if (input.baseType === "tuple" && input.components !== null) {
      const tuple: Record<string, unknown> = {};
      input.components.forEach((c, j) => (tuple[c.name] = jsonValue((v as DecodedArgs)[j])));
      out[input.name] = tuple;
    } else {
      out[input.name] = jsonValue(v);
    }
  });
  return JSON.stringify(out);
}
