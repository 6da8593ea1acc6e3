/**
 * FHIR R4 ingestion: one sealed, anchored record per resource, with version chains.
 *
 * - The WHOLE input is validated first ({@link assertValidFhir}); if anything is invalid a
 *   {@link FhirValidationError} lists every problem and nothing is stored or anchored.
 * - A Bundle is split into its entries' resources (a nested Bundle is one record, not expanded);
 *   entries without a `resource` (e.g. a transaction DELETE) are left out. Any other resource is
 *   one record.
 * - Classification ({@link Classifier}, default {@link defaultClassifier}): every resource gets a
 *   public clinical category and its sensitive labels, by security label, code and reference
 *   within the Bundle. Directory, definitional and messaging resources (Practitioner,
 *   Organization, Questionnaire, MessageHeader, …) are not the patient's health data: they are not
 *   stored and are reported in `skipped`.
 * - On chain: every record is anchored under its PUBLIC category, with a salted commitment to its
 *   sensitive labels (every label of a multi-label record; the empty mask too). The labels never
 *   go on chain in clear; the writer's journal keeps their opening.
 * - Content: the resource's canonical JSON ({@link canonicalJson}) as UTF-8, media type
 *   {@link FHIR_MEDIA_TYPE}.
 * - Identity: (subject, resourceType, id); without an id, the Bundle entry's `fullUrl`
 *   (`urn:uuid:…`); without either, the content itself (such a resource never gets versions).
 * - The writer's journal index maps each identity to its head record: the name is an HMAC of the
 *   identity under the journal's secret, the value holds the head record id and HMACs of the
 *   head's content, of its filing (public category, labels) and of every
 *   `meta.versionId` seen (keyed hashes only, and only locally).
 * - A known identity arriving again is `unchanged` (same record id, nothing anchored) if its
 *   `meta.versionId` was seen before, or, when the head or the input has no versionId, if its
 *   canonical content equals the head's; and, for the head, only if it would be filed the same
 *   way. When the labels change, the resource gets a `new-version` with the new labels, linked to
 *   the head: never silently re-filed, never left under the old labels. When its PUBLIC category
 *   changes (a hospital override), it is `created` as a new record with a note: a version keeps
 *   its category (contracts 1.1), so it cannot be linked to the head.
 * - A known identity whose record was erased (by the patient or a guardian) is reported `erased`
 *   and nothing is stored: erasure is not undone by a re-import (one event query per call).
 * - Before anything is stored, the writer's APPEND consent is checked for every category it is
 *   about to anchor (else an AccessDeniedError `RecordAnchorDenied`, nothing stored).
 * - New first versions of one input are anchored with ONE `records.putBatch` (one Merkle root)
 *   when batching (default for Bundles with more than one resource), else one `records.put` each.
 *   New versions go through `records.put` with `previous`, in input order.
 * - Retries are safe: every write has a deterministic idempotency key (HMAC of subject, identity,
 *   content and previous record), so re-running after a crash completes the same records.
 *
 * Calls into MedLedger: `ml.records.put`, `ml.records.putBatch`, the records' `locate` (which
 * proves a batch member before a new version supersedes it), `ml.journal` (getIndex, setIndex,
 * byRecord, secret), `ml.chain.consents.check`, RecordErased events, `ml.account`.
 *
 * @example
 * ```ts
 * import { putFhir } from "medledger";
 * const { resources, skipped } = await putFhir(ml, subject, bundle);
 * for (const r of resources) console.log(r.resourceType, r.id, r.status, r.category, r.labels, r.recordId);
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { Bundle, FhirResource } from "fhir/r4.js";

import { startBlock } from "../chain/addressBook.js";
import { AccessDeniedError } from "../chain/errors.js";
import { Action, Category, categoryName, labelMask } from "../codes.js";
import type { CategoryName, LabelName } from "../codes.js";
import { ErrorCodes, InvalidInputError, MedLedgerError } from "../errors.js";
import type { MedLedger } from "../ledger.js";
import { idempotencyKey } from "../records/journal.js";
import { locate } from "../records/locate.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { RecordId, SubjectId } from "../types.js";
import { canonicalJson } from "./canonical.js";
import { defaultClassifier } from "./classify.js";
import type { ClassificationRule, Classifier } from "./classify.js";
import type { PublicCategoryName, SkipKind } from "./terminology.js";
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
 * - `created`: a new record (first version);
 * - `new-version`: a new record linked to the previous one (content or labels changed);
 * - `unchanged`: already stored and filed the same way: nothing written;
 * - `erased`: already stored, and that record was erased: nothing written (not undone).
 *
 * @example
 * ```ts
 * import type { FhirPutStatus } from "medledger";
 * const fresh: FhirPutStatus[] = ["created", "new-version"];
 * ```
 */
export type FhirPutStatus = "created" | "new-version" | "unchanged" | "erased";

/**
 * One stored resource of a {@link putFhir} call: what happened, and how it was classified (for
 * an importer's review).
 *
 * @example
 * ```ts
 * import type { FhirPutEntry } from "medledger";
 * const labelled = (entries: FhirPutEntry[]) => entries.filter((e) => e.labels.length > 0);
 * ```
 */
export interface FhirPutEntry {
  resourceType: string;
  /** The resource's identity: its `id`, else its Bundle entry's `fullUrl`, else null. */
  id: string | null;
  versionId?: string;
  /** The record holding this resource's content (for "unchanged" and "erased": the existing record). */
  recordId: RecordId;
  /** The public clinical category (0..15): the category the record is anchored under. */
  category: PublicCategoryName;
  /** The sensitive labels (empty: none), sealed on chain as a salted commitment. */
  labels: LabelName[];
  /** The rule behind the category and behind each label. */
  rules: ClassificationRule[];
  /** What the importer should review (labels that name no class, unknown security labels). */
  notes?: string[];
  status: FhirPutStatus;
  /** For "new-version": the record this version supersedes. */
  previous?: RecordId;
  /** For "new-version" with the same content: the filing (labels or category) changed. */
  refiled?: true;
  /** For Bundle inputs: the index of the entry in `Bundle.entry`. */
  entryIndex?: number;
}

/**
 * A resource {@link putFhir} did not store: not the patient's health data.
 *
 * @example
 * ```ts
 * import type { FhirSkippedEntry } from "medledger";
 * const directory = (s: FhirSkippedEntry[]) => s.filter((e) => e.reason === "directory");
 * ```
 */
export interface FhirSkippedEntry {
  resourceType: string;
  id: string | null;
  reason: SkipKind;
  rules: ClassificationRule[];
  entryIndex?: number;
}

/**
 * The outcome of {@link putFhir}: one entry per stored resource and one per skipped resource, in
 * input order, and counts.
 *
 * @example
 * ```ts
 * import { putFhir } from "medledger";
 * const result = await putFhir(ml, subject, bundle);
 * console.log(`${result.created} created, ${result.newVersions} new versions, ${result.unchanged} unchanged, ${result.skipped.length} skipped`);
 * ```
 */
export interface FhirPutResult {
  resources: FhirPutEntry[];
  skipped: FhirSkippedEntry[];
  created: number;
  newVersions: number;
  unchanged: number;
  erased: number;
  /** Whether new first versions were anchored as one Merkle batch. */
  batched: boolean;
}

/**
 * Options of {@link putFhir}.
 *
 * @example
 * ```ts
 * import { putFhir, createClassifier, loadClassifierOverrides } from "medledger";
 * const classifier = createClassifier({ overrides: await loadClassifierOverrides("overrides.json") });
 * await putFhir(ml, subject, bundle, { batch: false, classifier });
 * ```
 */
export interface PutFhirOptions {
  /** Anchor new first versions as one Merkle batch. Default: true for Bundles with more than one resource. */
  batch?: boolean;
  /** The classifier (default rules plus a hospital's overrides). Default: {@link defaultClassifier}. */
  classifier?: Classifier;
}

/** What the journal index keeps per identity (JSON). */
interface IndexValue {
  v: 1;
  head: RecordId;
  /** HMAC of the head's canonical content. */
  content: string;
  /** HMAC of the head's filing: public category and label mask (absent before labels). */
  filing?: string;
  /** HMAC of the head's meta.versionId, if it had one. */
  version?: string;
  /** HMAC of every versionId seen → its record. */
  versions: Record<string, RecordId>;
}

/** A record this call writes; its id is known once written. */
interface Write {
  kind: "first" | "next";
  bytes: Uint8Array;
  /** The public category anchored on chain. */
  category: CategoryName;
  /** The sensitive labels (sealed). */
  labels: LabelName[];
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
  filing?: string;
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
  const state: PlannedState = {
    head: asRecordId(value.head),
    content: value.content,
    version: value.version,
    versions: new Map(Object.entries(value.versions ?? {}).map(([k, id]) => [k, asRecordId(id)])),
  };
  if (typeof value.filing === "string") state.filing = value.filing;
  return state;
}

function serializeIndex(state: PlannedState): string {
  const value: IndexValue = {
    v: 1,
    head: resolve(state.head),
    content: state.content,
    versions: Object.fromEntries([...state.versions].map(([k, ref]) => [k, resolve(ref)])),
  };
  if (state.version !== undefined) value.version = state.version;
  if (state.filing !== undefined) value.filing = state.filing;
  return JSON.stringify(value);
}

/** Records in the journal index the identity's state as of this (completed) write. */
async function saveIndex(ml: MedLedger, w: Write): Promise<void> {
  if (w.state === undefined)
    throw new MedLedgerError(ErrorCodes.INVALID_INPUT, "internal: a planned write without its index state");
  await ml.journal.setIndex(w.name, serializeIndex(w.state));
}

/** Record ids (lower case) of the subject that were erased: one event query. */
async function erasedRecords(ml: MedLedger, subject: SubjectId): Promise<Set<string>> {
  const records = ml.chain.records;
  const events = await records.queryFilter(records.filters.RecordErased(subject), startBlock(ml.opts.addressBook));
  return new Set(events.map((e) => String(e.args.recordId).toLowerCase()));
}

/**
 * Stores FHIR R4 resources as MedLedger records: validates the whole input first (nothing is
 * stored if anything is invalid), classifies every resource (public category, sensitive labels,
 * the rule behind each), skips what is not the patient's health data, writes one record per
 * resource, links re-sent resources as versions, and reports per resource `created`,
 * `new-version`, `unchanged` or `erased`. See the module documentation for the rules, and
 * docs/fhir.md for the classification.
 *
 * @throws FhirValidationError when the input is not valid FHIR R4 (nothing stored or anchored)
 * @throws AccessDeniedError (`RecordAnchorDenied`) when the writer may not append a category it
 *   would anchor (nothing stored or anchored)
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
  const classifier = opts.classifier ?? defaultClassifier;
  const secret = ml.journal.secret;

  const items: { resource: FhirResource; entryIndex?: number; fullUrl?: string }[] = [];
  if (input.resourceType === "Bundle") {
    (input.entry ?? []).forEach((entry, entryIndex) => {
      if (entry.resource === undefined) return;
      const item: { resource: FhirResource; entryIndex?: number; fullUrl?: string } = {
        resource: entry.resource as FhirResource,
        entryIndex,
      };
      if (entry.fullUrl !== undefined) item.fullUrl = entry.fullUrl;
      items.push(item);
    });
  } else {
    items.push({ resource: input });
  }
  const index = classifier.indexBundle(items);

  // ─── classify and identify; what is not the patient's health data is skipped ───
  interface Planned {
    resource: FhirResource;
    entryIndex?: number;
    fullUrl?: string;
    entry: Omit<FhirPutEntry, "recordId" | "previous" | "status">;
    bytes: Uint8Array;
    content: string;
    version?: string;
    filing: string;
    name: string;
  }
  const skipped: FhirSkippedEntry[] = [];
  const toPlan: Planned[] = [];
  index.entries.forEach((indexed, i) => {
    const { resource, entryIndex, fullUrl } = items[i]!;
    const c = indexed.classification;
    const id = resource.id ?? fullUrl ?? null;
    if (c.skip !== undefined) {
      const s: FhirSkippedEntry = { resourceType: resource.resourceType, id, reason: c.skip, rules: c.rules };
      if (entryIndex !== undefined) s.entryIndex = entryIndex;
      skipped.push(s);
      return;
    }
    const bytes = ENC.encode(canonicalJson(resource));
    const content = contentMac(secret, bytes);
    const versionId = resource.meta?.versionId;
    const identity =
      resource.id !== undefined ? `id:${resource.id}` : fullUrl !== undefined ? `url:${fullUrl}` : `content:${content}`;
    const entry: Planned["entry"] = {
      resourceType: resource.resourceType,
      id,
      category: c.category,
      labels: c.labels,
      rules: c.rules,
    };
    if (c.notes.length > 0) entry.notes = c.notes;
    if (versionId !== undefined) entry.versionId = versionId;
    if (entryIndex !== undefined) entry.entryIndex = entryIndex;
    const planned: Planned = {
      resource,
      entry,
      bytes,
      content,
      filing: mac(secret, ["filing", c.category, String(labelMask(c.labels))]),
      name: `fhir:${mac(secret, ["index", sid, resource.resourceType, identity])}`,
    };
    if (versionId !== undefined) planned.version = mac(secret, ["version", versionId]);
    toPlan.push(planned);
  });

  const states = new Map<string, PlannedState | undefined>();
  for (const p of toPlan) if (!states.has(p.name)) states.set(p.name, parseIndex(await ml.journal.getIndex(p.name)));
  const known = [...states.values()].filter((s): s is PlannedState => s !== undefined);
  // Erased records are not undone by a re-import: one event query, only when something is known.
  const erased = known.length > 0 ? await erasedRecords(ml, sid) : new Set<string>();
  const isErased = (ref: Ref): ref is RecordId => typeof ref === "string" && erased.has(ref.toLowerCase());
  // The public category of each known head (a new version must keep it): from the writer's journal.
  const headCategory = new Map<string, number | undefined>();
  for (const s of known) {
    if (typeof s.head === "string" && !headCategory.has(s.head))
      headCategory.set(s.head, (await ml.journal.byRecord(s.head))?.category);
  }
  const sameFiling = (state: PlannedState, p: Planned): boolean => {
    if (state.filing !== undefined) return state.filing === p.filing;
    // Index entries written before labels existed carry no filing: an unlabelled head.
    if (typeof state.head !== "string") return false;
    return headCategory.get(state.head) === Category[p.entry.category] && p.entry.labels.length === 0;
  };
  /** The head's category when it differs from the resource's new one (no version link possible). */
  const movedFrom = (state: PlannedState, p: Planned): number | undefined => {
    const before = typeof state.head === "string" ? headCategory.get(state.head) : Category[state.head.category];
    return before !== undefined && before !== Category[p.entry.category] ? before : undefined;
  };

  // ─── plan: decide every status before writing anything ───
  const writes: Write[] = [];
  const planned: { entry: Omit<FhirPutEntry, "recordId" | "previous">; ref: Ref; previous?: Ref }[] = [];
  for (const p of toPlan) {
    const state = states.get(p.name);
    let refiled = false;
    if (state !== undefined) {
      const seen = p.version === undefined ? undefined : state.versions.get(p.version);
      const sameContent = (p.version === undefined || state.version === undefined) && state.content === p.content;
      const existing = seen ?? (sameContent ? state.head : undefined);
      if (existing !== undefined) {
        if (isErased(existing)) {
          planned.push({ entry: { ...p.entry, status: "erased" }, ref: existing });
          continue;
        }
        // An older version sent again stays what it was; the head is re-filed if its filing changed.
        if (existing !== state.head || sameFiling(state, p)) {
          planned.push({ entry: { ...p.entry, status: "unchanged" }, ref: existing });
          continue;
        }
        refiled = true;
      }
      if (isErased(state.head)) {
        planned.push({ entry: { ...p.entry, status: "erased" }, ref: state.head });
        continue;
      }
    }
    // A version keeps its public category: a resource that moved category starts a new record.
    const moved = state === undefined ? undefined : movedFrom(state, p);
    const previous = moved === undefined ? state?.head : undefined;
    const write: Write = {
      kind: previous === undefined ? "first" : "next",
      bytes: p.bytes,
      category: p.entry.category,
      labels: p.entry.labels,
      key: "",
      name: p.name,
    };
    if (previous !== undefined) write.previous = previous;
    // The index entry as it will be right after this write (a fresh object: earlier snapshots stay).
    const next: PlannedState = {
      head: write,
      content: p.content,
      filing: p.filing,
      versions: new Map(state?.versions),
    };
    if (p.version !== undefined) {
      next.version = p.version;
      next.versions.set(p.version, write);
    }
    write.state = next;
    states.set(p.name, next);
    writes.push(write);
    const entry: Omit<FhirPutEntry, "recordId" | "previous"> = {
      ...p.entry,
      status: previous === undefined ? "created" : "new-version",
    };
    if (refiled) entry.refiled = true;
    if (moved !== undefined)
      entry.notes = [
        ...(entry.notes ?? []),
        `public category changed from ${categoryName(moved)} to ${p.entry.category}: stored as a new record (a version keeps its category)`,
      ];
    planned.push({ entry, ref: write, ...(previous === undefined ? {} : { previous }) });
  }

  // The writer must be allowed to append every category it is about to anchor: checked before
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
    mac(secret, [
      "put",
      sid,
      w.name,
      contentMac(secret, w.bytes),
      String(labelMask(w.labels)),
      w.previous === undefined ? "" : resolve(w.previous),
    ]);

  // ─── write: first versions (one Merkle batch), then new versions in input order ───
  const batch = opts.batch ?? (input.resourceType === "Bundle" && items.length > 1);
  const firsts = writes.filter((w) => w.kind === "first");
  const useBatch = batch && firsts.length > 1;
  if (useBatch) {
    for (const w of firsts) w.key = keyOf(w);
    const ids = await ml.records.putBatch(
      sid,
      firsts.map((w) => ({
        content: w.bytes,
        category: w.category,
        labels: w.labels,
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
        labels: w.labels,
        mediaType: FHIR_MEDIA_TYPE,
        idempotencyKey: w.key,
      });
    }
  }
  for (const w of firsts) await saveIndex(ml, w);

  for (const w of writes) {
    if (w.kind !== "next" || w.previous === undefined) continue;
    const previous = resolve(w.previous);
    // The previous version must be a record of its own on chain, not only a batch member.
    await locate(ml.context, sid, previous);
    w.key = keyOf(w);
    w.recordId = await ml.records.put(sid, w.bytes, {
      category: w.category,
      labels: w.labels,
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
    skipped,
    created: count("created"),
    newVersions: count("new-version"),
    unchanged: count("unchanged"),
    erased: count("erased"),
    batched: useBatch,
  };
}
