/**
 * A consortium on a test node and a random scenario over it, driven by direct TypeChain calls:
 * organizations, practitioners, patients, guardians, permits and denies (practitioner and
 * organization grantees, some expiring), revocations, single anchors, new versions, Merkle batches
 * and proofs, reads (single, batched, by the subject), break-glass sessions and independent
 * reviews, erasures, break-glass opt-outs, key rotations and keyholder release-log anchors. A
 * seeded generator makes a run reproducible; a model of the rules keeps most operations valid
 * (an operation the contracts refuse is simply skipped: it leaves no event).
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexlify, keccak256, sha256, toUtf8Bytes } from "ethers";
import type { JsonRpcSigner } from "ethers";

import type { BlobStore } from "../../../../sdk/storage/types.js";
import { mined } from "../../../../fixtures/anvil-ledger.js";
import type { Ledger, TestNode } from "../../../../fixtures/anvil-ledger.js";

export const Role = { CLINICIAN: 1, EMERGENCY_RESPONDER: 2, PAYER: 8, AUDITOR: 16, PRIVACY_OFFICER: 32 } as const;
export const READ = 1;
export const APPEND = 2;
export const TREAT = 0;
export const ETREAT = 1;
export const HPAYMT = 2;
export const BTG = 9;

/** A seeded PRNG (mulberry32). */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! };
}

const key = (label: string): string => keccak256(toUtf8Bytes(`x25519:${label}`));
let counter = 0;
/** A fresh non-zero 32-byte value (ids, commitments, salts); deterministic within a run order. */
export function fresh(label = "v"): string {
  counter++;
  return keccak256(toUtf8Bytes(`${label}:${counter}:${Math.random()}`));
}

export interface Practitioner {
  signer: JsonRpcSigner;
  address: string;
  org: number;
  roles: number;
}
export interface Patient {
  signer: JsonRpcSigner;
  subject: string;
  records: { id: string; category: number; superseded: boolean; erased: boolean }[];
  permits: { id: string; grantee: string; categories: number; purposes: number; actions: number }[];
  denies: { id: string; grantee: string; categories: number }[];
  optedOut: boolean;
}

export interface World {
  node: TestNode;
  ledger: Ledger;
  orgs: { hospital: number; lab: number; payer: number; regulator: number };
  doctors: Practitioner[];
  responder: Practitioner;
  officer: Practitioner;
  labOfficer: Practitioner;
  labTech: Practitioner;
  payerAgent: Practitioner;
  inspector: Practitioner;
  patients: Patient[];
  keyholder: { id: number; signer: JsonRpcSigner; sequence: number };
  /** Envelopes and batch manifests, by pointer. */
  blobs?: BlobStore;
}

let current: TestNode | undefined;
/** Sends and waits until mined (see {@link mined}). */
async function send(p: Promise<{ hash: string }>): Promise<void> {
  await mined(current!, p);
}

/** Admits four organizations, enrolls practitioners, registers patients, adds a keyholder. */
export async function buildWorld(node: TestNode, ledger: Ledger, opts: { patients?: number } = {}): Promise<World> {
  current = node;
  const s = (i: number): Promise<JsonRpcSigner> => node.provider.getSigner(i);
  const { directory, keyholders } = ledger;
  const orgIds: number[] = [];
  for (const [kind, admin] of [
    [1, 1],
    [2, 2],
    [3, 3],
    [5, 4],
  ] as const) {
    await send(directory.admitOrganization(kind, await (await s(admin)).getAddress(), key(`org${admin}`)));
    orgIds.push(Number(await directory.organizationCount()));
  }
  const [hospital, lab, payer, regulator] = orgIds as [number, number, number, number];
  const now = (await node.provider.getBlock("latest"))!.timestamp;
  const enroll = async (index: number, org: number, adminIndex: number, roles: number): Promise<Practitioner> => {
    const signer = await s(index);
    const address = (await signer.getAddress()).toLowerCase();
    await send(
      directory
        .connect(await s(adminIndex))
        .enrollPractitioner(org, address, roles, now + 10 * 365 * 86400, key(`p${index}`)),
    );
    return { signer, address, org, roles };
  };
  const doctors: Practitioner[] = [];
  for (const i of [5, 6, 7, 8]) doctors.push(await enroll(i, hospital, 1, Role.CLINICIAN));
  const responder = await enroll(9, hospital, 1, Role.EMERGENCY_RESPONDER | Role.CLINICIAN);
  const officer = await enroll(10, hospital, 1, Role.PRIVACY_OFFICER);
  const labTech = await enroll(11, lab, 2, Role.CLINICIAN);
  const payerAgent = await enroll(12, payer, 3, Role.PAYER);
  const inspector = await enroll(13, regulator, 4, Role.AUDITOR);
  const labOfficer = await enroll(14, lab, 2, Role.PRIVACY_OFFICER);
  const patients: Patient[] = [];
  for (let i = 0; i < (opts.patients ?? 6); i++) {
    const signer = await s(15 + i);
    const salt = fresh("salt");
    await send(directory.connect(signer).registerPatient(salt, await signer.getAddress(), key(`patient${i}`)));
    const subject = (await directory.subjectIdFor(await signer.getAddress(), salt)).toLowerCase();
    patients.push({ signer, subject, records: [], permits: [], denies: [], optedOut: false });
  }
  const khSigner = await s(30);
  await send(keyholders.addKeyholder(hospital, await khSigner.getAddress(), key("kh1"), "https://kh1.example"));
  await send(keyholders.setThreshold(1));
  const id = Number(await keyholders.keyholderOf(await khSigner.getAddress()));
  return {
    node,
    ledger,
    orgs: { hospital, lab, payer, regulator },
    doctors,
    responder,
    officer,
    labOfficer,
    labTech,
    payerAgent,
    inspector,
    patients,
    keyholder: { id, signer: khSigner, sequence: 0 },
  };
}

export interface ScenarioStats {
  operations: number;
  refused: number;
  byKind: Record<string, number>;
}

function terms(t: {
  effect?: number;
  grantee?: string;
  org?: number;
  roles?: number;
  categories: number;
  purposes: number;
  actions: number;
  validUntil?: number;
}) {
  return {
    effect: t.effect ?? 0,
    granteeKind: t.grantee === undefined ? 1 : 0,
    granteeAccount: t.grantee ?? "0x0000000000000000000000000000000000000000",
    granteeOrg: t.org ?? 0,
    granteeRoles: t.roles ?? 0,
    categories: t.categories,
    purposes: t.purposes,
    actions: t.actions,
    validFrom: 0,
    validUntil: t.validUntil ?? 0,
    sealedTerms: fresh("sealed"),
  };
}

/** Stores an envelope (when the world has a blob store) and returns its pointer and digest. */
async function envelope(w: World, label: string): Promise<{ pointer: string; digest: string }> {
  const bytes = toUtf8Bytes(`sealed envelope ${label} ${fresh()}`);
  const digest = sha256(bytes);
  if (w.blobs === undefined) return { pointer: `sha256:${digest.slice(2)}`, digest };
  return { pointer: await w.blobs.put(bytes), digest };
}

/** Runs `count` random operations; returns what happened. */
export async function runScenario(w: World, count: number, seed: number): Promise<ScenarioStats> {
  current = w.node;
  const r = prng(seed);
  const { consents, records, directory, keyholders } = w.ledger;
  const stats: ScenarioStats = { operations: 0, refused: 0, byKind: {} };
  const readers = [...w.doctors, w.labTech, w.payerAgent];
  const sessions: { id: number; org: number }[] = [];

  const ops: [string, number, (p: Patient) => Promise<boolean>][] = [
    [
      "permit",
      10,
      async (p) => {
        const who = r.pick(readers);
        const mine = p.permits.filter((c) => c.grantee === who.address);
        if (mine.length >= 6) return false;
        const categories = (1 << r.int(16)) | (1 << r.int(16)) | (r.next() < 0.3 ? 0xffff : 0);
        const purposes = (1 << TREAT) | (1 << HPAYMT) | (r.next() < 0.5 ? 1 << r.int(10) : 0);
        const actions = r.next() < 0.7 ? READ | APPEND : READ;
        const validUntil = r.next() < 0.2 ? (await now(w)) + 30 + r.int(600) : 0;
        await send(
          consents
            .connect(p.signer)
            .grant(p.subject, terms({ grantee: who.address, categories, purposes, actions, validUntil })),
        );
        const id = await lastConsent(w, p);
        if (validUntil === 0) p.permits.push({ id, grantee: who.address, categories, purposes, actions });
        return true;
      },
    ],
    [
      "orgPermit",
      2,
      async (p) => {
        await send(
          consents.connect(p.signer).grant(
            p.subject,
            terms({
              org: w.orgs.hospital,
              roles: Role.CLINICIAN,
              categories: 0xffff,
              purposes: 1 << TREAT,
              actions: READ,
            }),
          ),
        );
        return true;
      },
    ],
    [
      "deny",
      2,
      async (p) => {
        const who = r.pick(readers);
        if (p.denies.filter((d) => d.grantee === who.address).length >= 5) return false;
        const categories = r.next() < 0.3 ? 0 : 1 << r.int(16);
        await send(
          consents
            .connect(p.signer)
            .grant(
              p.subject,
              terms({ effect: 1, grantee: who.address, categories, purposes: 0x3ff, actions: READ | APPEND }),
            ),
        );
        p.denies.push({ id: await lastConsent(w, p), grantee: who.address, categories });
        return true;
      },
    ],
    [
      "revoke",
      4,
      async (p) => {
        const list = r.next() < 0.8 ? p.permits : p.denies;
        if (list.length === 0) return false;
        const i = r.int(list.length);
        await send(consents.connect(p.signer).revoke(p.subject, list[i]!.id));
        list.splice(i, 1);
        return true;
      },
    ],
    [
      "anchor",
      10,
      async (p) => {
        const id = fresh("record");
        const category = r.int(16);
        const { pointer, digest } = await envelope(w, id);
        const appender = p.permits.find((c) => c.actions & APPEND && (c.categories >> category) & 1);
        if (appender !== undefined && r.next() < 0.5 && !denied(p, appender.grantee)) {
          const who = readers.find((x) => x.address === appender.grantee)!;
          await send(
            records
              .connect(who.signer)
              .anchorRecord(p.subject, id, category, digest, fresh("label"), ZERO, pointer, appender.id),
          );
        } else {
          await send(
            records
              .connect(p.signer)
              .anchorRecord(p.subject, id, category, digest, fresh("label"), ZERO, pointer, ZERO),
          );
        }
        p.records.push({ id, category, superseded: false, erased: false });
        return true;
      },
    ],
    [
      "version",
      3,
      async (p) => {
        const head = live(p);
        if (head.length === 0) return false;
        const prev = r.pick(head);
        const id = fresh("record");
        const { pointer, digest } = await envelope(w, id);
        await send(
          records
            .connect(p.signer)
            .anchorRecord(p.subject, id, prev.category, digest, fresh("label"), prev.id, pointer, ZERO),
        );
        prev.superseded = true;
        p.records.push({ id, category: prev.category, superseded: false, erased: false });
        return true;
      },
    ],
    [
      "batch",
      2,
      async (p) => {
        const tag = hexlify(fresh("tag")).slice(0, 34);
        const members = Array.from({ length: 2 + r.int(4) }, () => ({
          id: tag + fresh("m").slice(34),
          category: r.int(16),
          label: fresh("label"),
        }));
        const leaves: [string, string, number, string, string][] = [];
        const pointers: string[] = [];
        for (const m of members) {
          const { pointer, digest } = await envelope(w, m.id);
          pointers.push(pointer);
          leaves.push([p.subject, m.id, m.category, digest, m.label]);
        }
        const tree = StandardMerkleTree.of(leaves, ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"]);
        const mask = members.reduce((m, x) => m | (1 << x.category), 0);
        const manifest = JSON.stringify({
          format: "medledger-batch/2",
          subject: p.subject,
          root: tree.root,
          records: leaves.map((l, i) => ({
            recordId: l[1],
            category: l[2],
            digest: l[3],
            labelCommitment: l[4],
            pointer: pointers[i],
            proof: tree.getProof(i),
          })),
        });
        const manifestPointer =
          w.blobs === undefined
            ? `sha256:${sha256(toUtf8Bytes(manifest)).slice(2)}`
            : await w.blobs.put(toUtf8Bytes(manifest));
        await send(
          records.connect(p.signer).anchorBatch(p.subject, tree.root, tag, members.length, mask, manifestPointer, ZERO),
        );
        for (const [i, l] of leaves.entries()) {
          if (r.next() < 0.8) {
            await send(
              records
                .connect(r.pick(readers).signer)
                .proveRecord(p.subject, tree.root, l[1], l[2], l[3], l[4], tree.getProof(i)),
            );
            p.records.push({ id: l[1], category: l[2], superseded: false, erased: false });
          }
        }
        return true;
      },
    ],
    [
      "access",
      14,
      async (p) => {
        const c = readable(p, r);
        if (c === undefined) return false;
        const who = readers.find((x) => x.address === c.permit.grantee)!;
        await send(records.connect(who.signer).access(p.subject, c.record.id, c.purpose, c.permit.id));
        return true;
      },
    ],
    [
      "accessBatch",
      6,
      async (p) => {
        const c = readable(p, r);
        if (c === undefined) return false;
        const ids = live(p, true)
          .filter((x) => (c.permit.categories >> x.category) & 1)
          .slice(0, 1 + r.int(12))
          .map((x) => x.id);
        const who = readers.find((x) => x.address === c.permit.grantee)!;
        await send(records.connect(who.signer).accessBatch(p.subject, ids, c.purpose, c.permit.id));
        return true;
      },
    ],
    [
      "selfAccess",
      3,
      async (p) => {
        const list = live(p, true);
        if (list.length === 0) return false;
        await send(records.connect(p.signer).access(p.subject, r.pick(list).id, 7, ZERO));
        return true;
      },
    ],
    [
      "breakGlass",
      3,
      async (p) => {
        const list = live(p, true);
        if (list.length === 0 || p.optedOut || denied(p, w.responder.address)) return false;
        const ids = list.slice(0, 1 + r.int(4)).map((x) => x.id);
        await send(
          records.connect(w.responder.signer).breakGlassAccess(p.subject, ids, r.next() < 0.5 ? ETREAT : BTG, 7),
        );
        const id = Number(await lastSession(w));
        if (!sessions.some((x) => x.id === id)) sessions.push({ id, org: w.orgs.hospital });
        return true;
      },
    ],
    [
      "review",
      2,
      async () => {
        if (sessions.length === 0) return false;
        const s = sessions.shift()!;
        const reviewer = r.next() < 0.5 ? w.labOfficer : w.inspector;
        await send(records.connect(reviewer.signer).closeReview(s.id, r.next() < 0.7 ? 1 : 2));
        return true;
      },
    ],
    [
      "erase",
      1,
      async (p) => {
        const list = p.records.filter((x) => !x.erased);
        if (list.length === 0) return false;
        const rec = r.pick(list);
        await send(records.connect(p.signer).eraseRecord(p.subject, rec.id));
        rec.erased = true;
        return true;
      },
    ],
    [
      "optOut",
      1,
      async (p) => {
        await send(consents.connect(p.signer).setBreakGlassOptOut(p.subject, !p.optedOut));
        p.optedOut = !p.optedOut;
        return true;
      },
    ],
    [
      "rotateKey",
      1,
      async (p) => {
        await send(directory.connect(p.signer).rotatePatientKey(p.subject, fresh("key")));
        return true;
      },
    ],
    [
      "releaseLog",
      1,
      async () => {
        w.keyholder.sequence += 1 + r.int(5);
        await send(
          keyholders.connect(w.keyholder.signer).anchorReleaseLog(w.keyholder.id, w.keyholder.sequence, fresh("head")),
        );
        return true;
      },
    ],
    [
      "time",
      1,
      async () => {
        await w.node.rpc("evm_increaseTime", [60 + r.int(600)]);
        return true;
      },
    ],
  ];
  const total = ops.reduce((s, [, weight]) => s + weight, 0);
  for (let i = 0; i < count; i++) {
    let x = r.int(total);
    const op = ops.find(([, weight]) => (x -= weight) < 0)!;
    const patient = r.pick(w.patients);
    let done = false;
    try {
      done = await op[2](patient);
    } catch {
      stats.refused++;
    }
    if (done) {
      stats.operations++;
      stats.byKind[op[0]] = (stats.byKind[op[0]] ?? 0) + 1;
    }
  }
  return stats;
}

const ZERO = `0x${"00".repeat(32)}`;

async function now(w: World): Promise<number> {
  return (await w.node.provider.getBlock("latest"))!.timestamp;
}

function live(p: Patient, includeSuperseded = false): Patient["records"] {
  return p.records.filter((x) => !x.erased && (includeSuperseded || !x.superseded));
}

function denied(p: Patient, account: string): boolean {
  return p.denies.some((d) => d.grantee === account && d.categories !== 0);
}

function readable(
  p: Patient,
  r: ReturnType<typeof prng>,
): { permit: Patient["permits"][number]; record: Patient["records"][number]; purpose: number } | undefined {
  const permits = p.permits.filter((c) => c.actions & READ && !denied(p, c.grantee));
  if (permits.length === 0) return undefined;
  const permit = r.pick(permits);
  const records = live(p, true).filter((x) => (permit.categories >> x.category) & 1);
  if (records.length === 0) return undefined;
  const purposes = [TREAT, HPAYMT].filter((x) => (permit.purposes >> x) & 1);
  return { permit, record: r.pick(records), purpose: r.pick(purposes) };
}

async function lastConsent(w: World, p: Patient): Promise<string> {
  const count = await w.ledger.consents.consentCount(p.subject);
  return (await w.ledger.consents.consentIdAt(p.subject, count)).toLowerCase();
}

async function lastSession(w: World): Promise<bigint> {
  const events = await w.ledger.records.queryFilter(w.ledger.records.filters.BreakGlassDeclared(), -5);
  return events[events.length - 1]!.args.sessionId;
}
