/**
 * FHIR R4 ingestion: one sealed, anchored record per resource, with version chains.
 *
 * - The WHOLE input is validated first ({@link assertValidFhir}); if anything is invalid a
 *   {@link FhirValidationError} lists every problem and nothing is stored or anchored.
 * - A Bundle is split into its entries' resources (a nested Bundle is one record, not expanded);
 *   entries without a `resource` (e.g. a transaction DELETE) are skipped. Any other resource is one
 *   record.
 * - Content: the resource's canonical JSON ({@link canonicalJson}) as UTF-8, media type
 *   {@link FHIR_MEDIA_TYPE}, category from {@link categoryOf} (or `opts.categorize`).
 * - Identity: (subject, resourceType, id); without an id, the Bundle entry's `fullUrl`
 *   (`urn:uuid:…`); without either, the content itself (such a resource never gets versions).
 * - The writer's journal index maps each identity to its head record: the name is an HMAC of the
 *   identity under the journal's secret, the value holds the head record id and HMACs of the
 *   head's content and of every `meta.versionId` seen (keyed hashes only, and only locally; nothing
 *   derived from content goes on chain but the envelope digest).
 * - A known identity arriving again is `unchanged` (same record id, nothing anchored) if its
 *   `meta.versionId` was seen before, or, when the head or the input has no versionId, if its
 *   canonical content equals the head's. Otherwise it is a `new-version` anchored with
 *   `previous` = the head (a head that is still only a Merkle batch member is proven on chain first).
 * - Before anything is stored, the writer's APPEND consent is checked for every category it is
 *   about to write (else an AccessDeniedError `RecordAnchorDenied`, nothing stored).
 * - New first versions of one input are anchored with ONE `records.putBatch` (one Merkle root)
 *   when batching (default for Bundles with more than one resource), else one `records.put` each.
 *   New versions go through `records.put` with `previous`, in input order.
 * - Retries are safe: every write has a deterministic idempotency key (HMAC of subject, identity,
 *   content and previous record), so re-running after a crash completes the same records.
 *
 * @example
 * ```ts
 * import { putFhir } from "medledger";
 * const { resources } = await putFhir(ml, subject, bundle);
 * for (const r of resources) console.log(r.resourceType, r.id, r.status, r.category, r.recordId);
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { Bundle, FhirResource } from "fhir/r4.js";

import { AccessDeniedError, ContractRevertError } from "../chain/errors.js";
import type { CategoryName } from "../codes.js";
import { Action, Category } from "../codes.js";
import { ErrorCodes, InvalidInputError, MedLedgerError } from "../errors.js";
import type { MedLedger } from "../ledger.js";
import { idempotencyKey } from "../records/journal.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { RecordId, SubjectId } from "../types.js";
import { canonicalJson } from "./canonical.js";
import { categoryOf } from "./categories.js";
import { assertValidFhir } from "./validate.js";

/**
 * The media type of every record {@link putFhir} writes.
 *
 * @example
 * ```ts
 * import { FHIR_MEDIA_TYPE } from "medledger";
 * if (record.mediaType === FHIR_MEDIA_TYPE) JSON.parse(new TextDecoder().decode(record.content));
 * ```
 */
export const FHIR_MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0";

/**
 * What happened to one resource.
 *
 * @example
 * ```ts
 * import type { FhirPutStatus } from "medledger";
 * const fresh: FhirPutStatus[] = ["created", "new-version"];
 * ```
 */
export type FhirPutStatus = "created" | "new-version" | "unchanged";

/**
 * One resource of a {@link putFhir} call.
 *
 * @example
 * ```ts
 * import type { FhirPutEntry } from "medledger";
 * const changed = (entries: FhirPutEntry[]) => entries.filter((e) => e.status !== "unchanged");
 * ```
 */
export interface FhirPutEntry {
  resourceType: string;
  /** The resource's identity: its `id`, else its Bundle entry's `fullUrl`, else null. */
  id: string | null;
  versionId?: string;
  /** The record holding this resource's content (for "unchanged": the existing record). */
  recordId: RecordId;
  category: CategoryName;
  status: FhirPutStatus;
  /** For "new-version": the record this version supersedes. */
  previous?: RecordId;
  /** For Bundle inputs: the index of the entry in `Bundle.entry`. */
  entryIndex?: number;
}

/**
 * The outcome of {@link putFhir}: one entry per resource, in input order, and counts.
 *
 * @example
 * ```ts
 * import { putFhir } from "medledger";
 * const result = await putFhir(ml, subject, bundle);
 * console.log(`${result.created} created, ${result.newVersions} new versions, ${result.unchanged} unchanged`);
 * ```
 */
export interface FhirPutResult {
  resources: FhirPutEntry[];
  created: number;
  newVersions: number;
  unchanged: number;
  /** Whether new first versions were anchored as one Merkle batch. */
  batched: boolean;
}

/**
 * Options of {@link putFhir}.
 *
 * @example
 * ```ts
 * import { putFhir, categoryOf } from "medledger";
 * await putFhir(ml, subject, bundle, { batch: false, categorize: (r) => (r.resourceType === "Flag" ? "NOTES" : categoryOf(r)) });
 * ```
 */
export interface PutFhirOptions {
  /** Anchor new first versions as one Merkle batch. Default: true for Bundles with more than one resource. */
  batch?: boolean;
  /** The category of each resource. Default: {@link categoryOf}. */
  categorize?: (resource: FhirResource) => CategoryName;
}

/** What the journal index keeps per identity (JSON). */
interface IndexValue {
  v: 1;
  head: RecordId;
  /** HMAC of the head's canonical content. */
  content: string;
  /** HMAC of the head's meta.versionId, if it had one. */
  version?: string;
  /** HMAC of every versionId seen → its record. */
  versions: Record<string, RecordId>;
}

/** A record this call writes; its id is known once written. */
interface Write {
  kind: "first" | "next";
  bytes: Uint8Array;
  category: CategoryName;
  /** Its idempotency key (set once the previous record is known). */
  key: string;
  previous?: Ref;
  /** The journal index name of the resource's identity. */
  name: string;
  /** The index entry right after this write (its refs resolve once it is done). */
  state?: PlannedState;
  recordId?: RecordId;
}
type Ref = RecordId | Write;

interface PlannedState {
  head: Ref;
  content: string;
  version?: string;
  versions: Map<string, Ref>;
}

const ENC = new TextEncoder();
const DOMAIN = "medledger-fhir/1";

function mac(secret: Uint8Array, parts: readonly (string | Uint8Array)[]): string {
  return idempotencyKey(secret, [DOMAIN, ...parts]);
}

/** A keyed fingerprint of content (HMAC-SHA256 under the journal secret): reveals nothing without it. */
function contentMac(secret: Uint8Array, bytes: Uint8Array): string {
  return mac(secret, ["content", sha256(bytes)]);
}

function resolve(ref: Ref): RecordId {
  if (typeof ref === "string") return ref;
  if (ref.recordId === undefined)
    throw new MedLedgerError(ErrorCodes.INVALID_INPUT, "internal: a planned write used before it was written");
  return ref.recordId;
}

function parseIndex(raw: string | undefined): PlannedState | undefined {
  if (raw === undefined) return undefined;
  let value: IndexValue;
  try {
    value = JSON.parse(raw) as IndexValue;
  } catch (err) {
    throw new InvalidInputError("Corrupt FHIR index entry in the journal", { cause: err });
  }
  if (value.v !== 1)
    throw new InvalidInputError("Unsupported FHIR index entry in the journal", { details: `v=${String(value.v)}` });
  return {
    head: asRecordId(value.head),
    content: value.content,
    version: value.version,
    versions: new Map(Object.entries(value.versions ?? {}).map(([k, id]) => [k, asRecordId(id)])),
  };
}

function serializeIndex(state: PlannedState): string {
  const value: IndexValue = {
    v: 1,
    head: resolve(state.head),
    content: state.content,
    versions: Object.fromEntries([...state.versions].map(([k, ref]) => [k, resolve(ref)])),
  };
  if (state.version !== undefined) value.version = state.version;
  return JSON.stringify(value);
}

/** Records in the journal index the identity's state as of this (completed) write. */
async function saveIndex(ml: MedLedger, w: Write): Promise<void> {
  if (w.state === undefined)
    throw new MedLedgerError(ErrorCodes.INVALID_INPUT, "internal: a planned write without its index state");
  await ml.journal.setIndex(w.name, serializeIndex(w.state));
}

/** The previous version must be a record of its own on chain, not only a member of a Merkle batch. */
async function ensureProven(ml: MedLedger, recordId: RecordId): Promise<void> {
  const records = ml.chain.records;
  const onChain = await records.getRecord(recordId).then(
    () => true,
    () => false,
  );
  if (onChain) return;
  const entry = await ml.journal.byRecord(recordId);
  if (entry?.batch === undefined) {
    // Not our batch member (or not in this journal): locating it proves it from the batch manifests.
    await ml.records.verify(recordId);
    return;
  }
  try {
    await ml.chain.send(records, "proveRecord", [
      entry.batch.root,
      recordId,
      entry.category,
      entry.digest,
      entry.batch.proof,
    ]);
  } catch (err) {
    // Proven meanwhile (a reader proves batch members on first access): fine.
    if (!(err instanceof ContractRevertError && err.errorName === "RecordExists")) throw err;
  }
}

/**
 * Stores FHIR R4 resources as MedLedger records: validates the whole input first (nothing is
 * stored if anything is invalid), writes one record per resource, links re-sent resources as
 * versions, and reports per resource `created`, `new-version` or `unchanged`. See the module
 * documentation for the rules, and docs/fhir.md for the category mapping.
 *
 * @throws FhirValidationError when the input is not valid FHIR R4 (nothing stored or anchored)
 * @throws AccessDeniedError (`RecordAnchorDenied`) when the writer may not append a category it
 *   would write (nothing stored or anchored)
 *
 * @example
 * ```ts
 * import { putFhir } from "medledger";
 * const first = await putFhir(ml, subject, bundle);       // every resource "created", one Merkle root
 * const again = await putFhir(ml, subject, bundle);       // every resource "unchanged", nothing anchored
 * const edited = { ...patient, meta: { versionId: "2" } };
 * const next = await putFhir(ml, subject, edited);        // "new-version", previous = the first record
 * ```
 */
export async function putFhir(
  ml: MedLedger,
  subject: SubjectId,
  input: FhirResource | Bundle,
  opts: PutFhirOptions = {},
): Promise<FhirPutResult> {
  assertValidFhir(input);
  const sid = asSubjectId(subject);
  const categorize = opts.categorize ?? categoryOf;
  const secret = ml.journal.secret;

  const items: { resource: FhirResource; entryIndex?: number; fullUrl?: string }[] = [];
  if (input.resourceType === "Bundle") {
    (input.entry ?? []).forEach((entry, entryIndex) => {
      if (entry.resource !== undefined)
        items.push({ resource: entry.resource as FhirResource, entryIndex, fullUrl: entry.fullUrl });
    });
  } else {
    items.push({ resource: input });
  }
  const batch = opts.batch ?? (input.resourceType === "Bundle" && items.length > 1);

  // ─── plan: decide every status from the index before writing anything ───
  const states = new Map<string, PlannedState | undefined>();
  const writes: Write[] = [];
  const planned: { entry: Omit<FhirPutEntry, "recordId" | "previous">; ref: Ref; previous?: Ref }[] = [];
  for (const { resource, entryIndex, fullUrl } of items) {
    const category = categorize(resource);
    if (Category[category] === undefined)
      throw new InvalidInputError(`categorize returned an unknown category ${String(category)}`);
    const bytes = ENC.encode(canonicalJson(resource));
    const content = contentMac(secret, bytes);
    const versionId = resource.meta?.versionId;
    const version = versionId === undefined ? undefined : mac(secret, ["version", versionId]);
    const id = resource.id ?? fullUrl ?? null;
    const identity =
      resource.id !== undefined ? `id:${resource.id}` : fullUrl !== undefined ? `url:${fullUrl}` : `content:${content}`;
    const name = `fhir:${mac(secret, ["index", sid, resource.resourceType, identity])}`;
    if (!states.has(name)) states.set(name, parseIndex(await ml.journal.getIndex(name)));
    const state = states.get(name);

    const entry: Omit<FhirPutEntry, "recordId" | "previous"> = {
      resourceType: resource.resourceType,
      id,
      category,
      status: "created",
    };
    if (versionId !== undefined) entry.versionId = versionId;
    if (entryIndex !== undefined) entry.entryIndex = entryIndex;

    const seen = version === undefined ? undefined : state?.versions.get(version);
    if (state !== undefined && seen !== undefined) {
      planned.push({ entry: { ...entry, status: "unchanged" }, ref: seen });
      continue;
    }
    if (state !== undefined && (version === undefined || state.version === undefined) && state.content === content) {
      planned.push({ entry: { ...entry, status: "unchanged" }, ref: state.head });
      continue;
    }
    const previous = state?.head;
    const write: Write = { kind: previous === undefined ? "first" : "next", bytes, category, key: "", name };
    if (previous !== undefined) write.previous = previous;
    // The index entry as it will be right after this write (a fresh object: earlier snapshots stay).
    const next: PlannedState = { head: write, content, versions: new Map(state?.versions) };
    if (version !== undefined) {
      next.version = version;
      next.versions.set(version, write);
    }
    write.state = next;
    states.set(name, next);
    writes.push(write);
    planned.push({
      entry: { ...entry, status: previous === undefined ? "created" : "new-version" },
      ref: write,
      ...(previous === undefined ? {} : { previous }),
    });
  }

  // The writer must be allowed to append every category it is about to write: checked before
  // anything is stored (the contract would refuse the anchor after the envelopes were stored).
  for (const category of new Set(writes.map((w) => w.category))) {
    const code = Category[category];
    const d = await ml.chain.consents.check(ml.account, sid, code, 0, Action.APPEND);
    if (!d.allowed) {
      throw new AccessDeniedError(
        "RecordAnchorDenied",
        { subject: sid, account: ml.account, category: code, reason: d.reason, consentId: d.consentId },
        undefined,
        undefined,
      );
    }
  }

  const keyOf = (w: Write): string =>
    mac(secret, ["put", sid, w.name, contentMac(secret, w.bytes), w.previous === undefined ? "" : resolve(w.previous)]);

  // ─── write: first versions (one Merkle batch), then new versions in input order ───
  const firsts = writes.filter((w) => w.kind === "first");
  const useBatch = batch && firsts.length > 1;
  if (useBatch) {
    for (const w of firsts) w.key = keyOf(w);
    const ids = await ml.records.putBatch(
      sid,
      firsts.map((w) => ({
        content: w.bytes,
        category: w.category,
        mediaType: FHIR_MEDIA_TYPE,
        idempotencyKey: w.key,
      })),
    );
    firsts.forEach((w, i) => (w.recordId = ids[i]));
  } else {
    for (const w of firsts) {
      w.key = keyOf(w);
      w.recordId = await ml.records.put(sid, w.bytes, {
        category: w.category,
        mediaType: FHIR_MEDIA_TYPE,
        idempotencyKey: w.key,
      });
    }
  }
  for (const w of firsts) await saveIndex(ml, w);

  for (const w of writes) {
    if (w.kind !== "next" || w.previous === undefined) continue;
    const previous = resolve(w.previous);
    await ensureProven(ml, previous);
    w.key = keyOf(w);
    w.recordId = await ml.records.put(sid, w.bytes, {
      category: w.category,
      mediaType: FHIR_MEDIA_TYPE,
      previous,
      idempotencyKey: w.key,
    });
    await saveIndex(ml, w);
  }

  const resources = planned.map(({ entry, ref, previous }): FhirPutEntry => {
    const out: FhirPutEntry = { ...entry, recordId: resolve(ref) };
    if (previous !== undefined) out.previous = resolve(previous);
    return out;
  });
  const count = (status: FhirPutStatus) => resources.filter((r) => r.status === status).length;
  return {
    resources,
    created: count("created"),
    newVersions: count("new-version"),
    unchanged: count("unchanged"),
    batched: useBatch,
  };
}
