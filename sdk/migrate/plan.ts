/**
 * Maps a 1.0 state to the 1.1 state the migration imports, and says what does not carry over as it
 * was. The mapping (D1: public categories 0..15, sensitive classes as sealed labels):
 *
 * - **Records.** Categories 0..12 and 15 stay. 1.0's sensitive categories 16..19 (mental health,
 *   sexual and reproductive health, substance use, genetics) become the label bits 1, 2, 4, 8 of a
 *   salted label commitment, and the public category becomes the record's clinical type when the
 *   caller knows it (`recordCategory`), else OTHER (15). Categories 13, 14 and 20..31 (unnamed in 1.0;
 *   13 and 14 now mean DOCUMENTS and REQUESTS) become OTHER. Every other record gets the
 *   commitment to the empty label mask: 1.0 had no labels. Digests, custodians, times, tombstones
 *   stay; a version link is kept unless the two versions' 1.1 categories differ (1.1 refuses that).
 * - **Consents.** Sequences (so consent ids), grantees, purposes, actions, windows and revocation
 *   times stay. Public category bits 0..12 and 15 stay; bits 16..19 move into the sealed terms
 *   (a permit's `allowLabels`, a deny's `denyLabels`), committed with a salt; bits 13, 14 and 20..31
 *   are dropped. A deny's purposes 0 (1.0: all) becomes every purpose. Nothing is widened: a
 *   permit that covered a sensitive category reaches the migrated sensitive records (now OTHER with
 *   a label) only if it already covered OTHER.
 * - **Directory.** Organizations keep their ids, keys and key versions; practitioners get compact
 *   ids; patients keep their 1.0 subject ids (random, not derived from a registrant), controllers,
 *   keys, thresholds and epochs; current guardians (expired ones too) are carried.
 */
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

import { InvalidInputError } from "../errors.js";
import { labelCommitment, sealLabels, sealTerms, termsCommitment } from "../sealed/commitments.js";
import type { Hex } from "../types.js";
import type { Batch10, Consent10, Organization10, Practitioner10, State10 } from "./source10.js";

/** Public categories kept as they are (0..12 and OTHER). */
const KEPT_CATEGORY_BITS = 0x1fff | (1 << 15);
const CAT_OTHER = 15;
const FIRST_SENSITIVE_10 = 16;
const ALL_PURPOSES_11 = (1 << 10) - 1;
const UINT40_MAX = (1n << 40n) - 1n;
/** 1.1 ConsentRegistry: places per (effect, grantee) list, and of those, guardians' places. */
const LIST_CAPACITY = 8;
const GUARDIAN_PLACES = 4;
const ZERO32 = `0x${"00".repeat(32)}`;

const coder = AbiCoder.defaultAbiCoder();
/** Domain of the migration's salt derivation. */
export const MIGRATION_SALT_DOMAIN = keccak256(toUtf8Bytes("MedLedger.migration.1.0-1.1.salt.v1")) as Hex;

/**
 * The salt of one commitment: keccak256(abi.encode(domain, secret, kind, subject, id)), a PRF of a
 * 32-byte CSPRNG secret the operator keeps for the migration. Re-runs derive the same salts (a
 * resumed run can still hand every opening over), and no salt repeats.
 */
export function migrationSalt(secret: string, kind: "labels" | "terms", subject: string, id: string): Hex {
  return keccak256(
    coder.encode(
      ["bytes32", "bytes32", "string", "bytes32", "bytes32"],
      [MIGRATION_SALT_DOMAIN, secret, kind, subject, id],
    ),
  ) as Hex;
}

export interface Patient11 {
  subject: string;
  controller: string;
  encryptionKey: string;
  keyVersion: number;
  recoveryThreshold: number;
  epoch: number;
}

export interface Guardian11 {
  subject: string;
  guardian: string;
  powers: number;
  validUntil: bigint;
}

/** 1.1 ConsentTerms (what importConsent takes). */
export interface Terms11 {
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
  sealedTerms: string;
}

export interface Consent11 {
  subject: string;
  sequence: number;
  consentId: string;
  terms: Terms11;
  revokedAt: bigint;
  grantedBy: string;
  /** The sealed-terms opening (hand it to the keyholders and the patient's app). */
  opening: { allowLabels: number; denyLabels: number; refinement: number; salt: Hex };
}

export interface Record11 {
  subject: string;
  recordId: string;
  category: number;
  digest: string;
  labelCommitment: string;
  /** The label mask committed (0: none) and its salt: the opening. */
  labels: number;
  salt: Hex;
  custodian: number;
  anchoredAt: bigint;
  erasedAt: bigint;
  previous: string;
  superseded: boolean;
  /** The 1.0 category, when it differs. */
  category10: number;
}

/** A batch member not proven on 1.0, supplied from its manifest (checked against the 1.0 root). */
export interface BatchMember10 {
  root: string;
  recordId: string;
  category: number;
  digest: string;
  proof: string[];
}

/** The 1.1 state to import, in import order, with what changes and what blocks. */
export interface MigrationPlan {
  cutoverBlock: number;
  organizations: Organization10[];
  practitioners: Practitioner10[];
  patients: Patient11[];
  guardians: Guardian11[];
  consents: Consent11[];
  optOuts: string[];
  records: Record11[];
  batches: (Batch10 & { supplied: number; missing: number })[];
  /** What is carried in another form or not at all (one line per kind, with counts). */
  notes: string[];
  /** What 1.1 cannot take: the run refuses until these are fixed on 1.0. */
  blockers: string[];
}

export interface PlanOptions {
  /** The 32-byte secret the salts derive from (undefined: a dry run; commitments are zero). */
  secret?: string;
  /** The target's current time (for which consents are active when imported). */
  now: bigint;
  /** The 1.1 public category of a 1.0 record in a sensitive category (default OTHER). */
  recordCategory?: (record: { subject: string; recordId: string; category: number }) => number | undefined;
  /** Unproven batch members from their manifests. */
  batchMembers?: readonly BatchMember10[];
}

/** 1.0 StandardMerkleTree leaf of a batch member: keccak256(keccak256(abi.encode(id, category, digest))). */
export function leaf10(recordId: string, category: number, digest: string): string {
  return keccak256(keccak256(coder.encode(["bytes32", "uint8", "bytes32"], [recordId, category, digest])));
}

/** OpenZeppelin MerkleProof with sorted pairs. */
export function verifyProof10(proof: readonly string[], root: string, leaf: string): boolean {
  let hash = leaf;
  for (const node of proof) {
    const [a, b] = BigInt(hash) < BigInt(node) ? [hash, node] : [node, hash];
    hash = keccak256(coder.encode(["bytes32", "bytes32"], [a, b]));
  }
  return hash.toLowerCase() === root.toLowerCase();
}

/** The 1.1 category and label mask of a 1.0 record category. */
export function mapRecordCategory(category: number, clinical?: number): { category: number; labels: number } {
  if (category >= FIRST_SENSITIVE_10 && category < FIRST_SENSITIVE_10 + 4) {
    return { category: clinical ?? CAT_OTHER, labels: 1 << (category - FIRST_SENSITIVE_10) };
  }
  if (category < 16 && (KEPT_CATEGORY_BITS & (1 << category)) !== 0) return { category, labels: 0 };
  return { category: CAT_OTHER, labels: 0 };
}

/** The 1.1 public mask and label mask of a 1.0 consent's category mask. */
export function mapConsentCategories(categories: number): { categories: number; labels: number; dropped: number } {
  return {
    categories: categories & KEPT_CATEGORY_BITS,
    labels: (categories >>> FIRST_SENSITIVE_10) & 0xf,
    dropped: (categories & ~KEPT_CATEGORY_BITS & ~(0xf << FIRST_SENSITIVE_10)) >>> 0,
  };
}

const count = (n: number, what: string) => `${n} ${what}`;

/** Builds the 1.1 import plan for `state`. */
export function planMigration(state: State10, options: PlanOptions): MigrationPlan {
  const notes: string[] = [];
  const blockers: string[] = [];
  const secret = options.secret;
  const salt = (kind: "labels" | "terms", subject: string, id: string): Hex =>
    secret === undefined ? (ZERO32 as Hex) : migrationSalt(secret, kind, subject, id);
  const orgCount = state.organizations.length;
  const enrolled = new Set(state.practitioners.map((p) => p.account));

  const patients: Patient11[] = [];
  const guardians: Guardian11[] = [];
  const consents: Consent11[] = [];
  const optOuts: string[] = [];
  let movedToSealed = 0;
  let droppedBits = 0;
  let unenrolled = 0;
  for (const p of state.patients) {
    const { guardians: gs, consents: cs, breakGlassOptedOut, ...rest } = p;
    patients.push({ ...rest });
    for (const g of gs) guardians.push({ subject: p.subject, ...g });
    if (breakGlassOptedOut) optOuts.push(p.subject);
    const lists = new Map<string, { all: number; guardian: number }>();
    for (const c of cs) {
      consents.push(mapConsent(c, salt));
      const mapped = mapConsentCategories(c.terms.categories);
      if (mapped.labels !== 0) movedToSealed++;
      if (mapped.dropped !== 0) droppedBits++;
      const t = c.terms;
      const where = `consent ${c.sequence} (${c.consentId}) of subject ${c.subject}`;
      if (t.validUntil > UINT40_MAX || t.validFrom > UINT40_MAX)
        blockers.push(`${where}: its window ends after 2^40 s`);
      if (t.granteeKind === 1 && t.granteeOrg > orgCount) {
        blockers.push(`${where}: names organization ${t.granteeOrg}, which 1.0 never admitted`);
      }
      const practitioner = t.granteeKind === 0;
      if (practitioner && !enrolled.has(t.granteeAccount)) {
        unenrolled++;
        continue; // kept for the record; never listed
      }
      const active = c.revokedAt === 0n && (t.validUntil === 0n || t.validUntil > options.now);
      if (!active) continue;
      const key = `${t.effect}/${t.granteeKind}/${practitioner ? t.granteeAccount : t.granteeOrg}`;
      const list = lists.get(key) ?? { all: 0, guardian: 0 };
      list.all++;
      if (c.grantedBy !== p.controller) list.guardian++;
      lists.set(key, list);
    }
    for (const [key, list] of lists) {
      if (list.all > LIST_CAPACITY) {
        blockers.push(
          `subject ${p.subject}: ${list.all} active consents for grantee ${key} (1.1 holds ${LIST_CAPACITY})`,
        );
      }
      if (list.guardian > GUARDIAN_PLACES) {
        blockers.push(
          `subject ${p.subject}: ${list.guardian} active consents by guardians for grantee ${key} (1.1 allows ${GUARDIAN_PLACES})`,
        );
      }
    }
  }

  // Records, and unproven batch members supplied from manifests.
  const batches = new Map(state.batches.map((b) => [b.root, { ...b, supplied: 0, missing: 0 }]));
  const sources = [...state.records];
  const known = new Set(sources.map((r) => `${r.subject}/${r.recordId}`));
  for (const m of options.batchMembers ?? []) {
    const batch = batches.get(m.root);
    if (batch === undefined) {
      blockers.push(`batch member ${m.recordId}: no 1.0 batch with root ${m.root}`);
      continue;
    }
    if (known.has(`${batch.subject}/${m.recordId}`)) continue; // proven on 1.0 already
    const inMask = m.category < 32 && (batch.categories & (1 << m.category)) !== 0;
    if (!inMask || !verifyProof10(m.proof, m.root, leaf10(m.recordId, m.category, m.digest))) {
      blockers.push(`batch member ${m.recordId}: its proof does not verify against 1.0 root ${m.root}`);
      continue;
    }
    known.add(`${batch.subject}/${m.recordId}`);
    batch.supplied++;
    sources.push({
      subject: batch.subject,
      recordId: m.recordId,
      category: m.category,
      digest: m.digest,
      custodian: batch.custodian,
      anchoredAt: batch.anchoredAt,
      erasedAt: 0n,
      previous: ZERO32,
      superseded: false,
      batchRoot: batch.root,
    });
  }
  for (const b of batches.values()) b.missing = Math.max(0, b.count - b.proven - b.supplied);

  const records: Record11[] = [];
  const byId = new Map<string, Record11>();
  let relabelled = 0;
  let recategorised = 0;
  let linksDropped = 0;
  for (const r of sources) {
    const clinical = options.recordCategory?.({ subject: r.subject, recordId: r.recordId, category: r.category });
    if (clinical !== undefined && (!Number.isInteger(clinical) || clinical < 0 || clinical > 15)) {
      throw new InvalidInputError(
        `recordCategory gave ${String(clinical)} for record ${r.recordId}: not a public category 0..15`,
        {
          field: "recordCategory",
        },
      );
    }
    const mapped = mapRecordCategory(r.category, clinical);
    if (mapped.labels !== 0) relabelled++;
    else if (mapped.category !== r.category) recategorised++;
    const s = salt("labels", r.subject, r.recordId);
    let previous = r.previous;
    if (previous !== ZERO32) {
      const prev = byId.get(`${r.subject}/${previous}`);
      if (prev === undefined || prev.category !== mapped.category) {
        linksDropped++;
        previous = ZERO32;
      } else {
        prev.superseded = true;
      }
    }
    const out: Record11 = {
      subject: r.subject,
      recordId: r.recordId,
      category: mapped.category,
      digest: r.digest,
      labels: mapped.labels,
      salt: s,
      labelCommitment:
        secret === undefined
          ? ZERO32
          : labelCommitment(sealLabels({ subject: r.subject, recordId: r.recordId, labels: mapped.labels, salt: s })),
      custodian: r.custodian,
      anchoredAt: r.anchoredAt,
      erasedAt: r.erasedAt,
      previous,
      superseded: false,
      category10: r.category,
    };
    records.push(out);
    byId.set(`${r.subject}/${r.recordId}`, out);
  }

  if (relabelled > 0)
    notes.push(
      count(
        relabelled,
        "record(s) in a 1.0 sensitive category: category OTHER (or the clinical type given), label committed",
      ),
    );
  if (recategorised > 0)
    notes.push(count(recategorised, "record(s) in a category unnamed in 1.0 (13, 14, 20..31): category OTHER"));
  notes.push(count(records.length - relabelled, "record(s) without a label: the empty-label commitment"));
  if (linksDropped > 0)
    notes.push(count(linksDropped, "version link(s) dropped: the two versions' 1.1 categories differ"));
  if (movedToSealed > 0)
    notes.push(count(movedToSealed, "consent(s) with sensitive categories: moved into the sealed terms"));
  if (droppedBits > 0)
    notes.push(count(droppedBits, "consent(s) naming categories unnamed in 1.0 (13, 14, 20..31): those bits dropped"));
  if (unenrolled > 0)
    notes.push(count(unenrolled, "consent(s) naming an account never enrolled: kept for the record, never match"));
  const missing = [...batches.values()].reduce((n, b) => n + b.missing, 0);
  if (missing > 0)
    notes.push(
      count(missing, "batch member(s) neither proven on 1.0 nor supplied: not carried (still provable on 1.0)"),
    );
  if (state.openReviews > 0)
    notes.push(count(state.openReviews, "break-glass review(s) still open on 1.0: close them there"));
  if (state.recoveryApprovals > 0)
    notes.push(
      count(state.recoveryApprovals, "pending recovery approval(s): not carried (guardians approve again on 1.1)"),
    );
  notes.push(
    "not carried: the access log and break-glass sessions (history on 1.0), EIP-712 nonces, 1.0's batch roots",
  );
  return {
    cutoverBlock: state.toBlock,
    organizations: state.organizations,
    practitioners: state.practitioners,
    patients,
    guardians,
    consents,
    optOuts,
    records,
    batches: [...batches.values()],
    notes,
    blockers,
  };
}

function mapConsent(c: Consent10, salt: (kind: "terms", subject: string, id: string) => Hex): Consent11 {
  const mapped = mapConsentCategories(c.terms.categories);
  const deny = c.terms.effect === 1;
  const opening = {
    allowLabels: deny ? 0 : mapped.labels,
    denyLabels: deny ? mapped.labels : 0,
    refinement: 0,
    salt: salt("terms", c.subject, c.consentId),
  };
  const sealedTerms = opening.salt === ZERO32 ? ZERO32 : termsCommitment(sealTerms({ subject: c.subject, ...opening }));
  return {
    subject: c.subject,
    sequence: c.sequence,
    consentId: c.consentId,
    terms: {
      ...c.terms,
      categories: mapped.categories,
      purposes: deny && c.terms.purposes === 0 ? ALL_PURPOSES_11 : c.terms.purposes,
      sealedTerms,
    },
    revokedAt: c.revokedAt,
    grantedBy: c.grantedBy,
    opening,
  };
}
