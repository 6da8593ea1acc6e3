/**
 * Migration 1.0 → 1.1 end to end, with REAL 1.0 contracts (compiled from git history into
 * test/fixtures/contracts-1.0/): a realistic 1.0 history is written on the in-process network,
 * `migrateFrom10` reads it back from 1.0's events and imports it into a fresh, unsealed 1.1
 * deployment, and the 1.1 deployment must answer as 1.0 did: the same subject ids, the same consent
 * ids and decisions (a grid of accessor × category × purpose × action), the same record anchors,
 * version links and tombstones. Then: resumability (an interrupted run re-run imports nothing twice),
 * refusals (source not 1.0, target sealed, signer not the migrator, a target holding other state,
 * 1.0 state 1.1 cannot take, 1.0 written after the cut-over) and a node refusing large log queries.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { AbiCoder, ContractFactory, Interface, ZeroHash, keccak256, randomBytes, hexlify } from "ethers";
import type { InterfaceAbi, Log, Provider, Contract } from "ethers";
import { readFileSync } from "node:fs";
import { network } from "hardhat";

import { deployMedLedger } from "../../sdk/deploy.js";
import { InvalidInputError } from "../../sdk/errors.js";
import {
  LEDGER_10_INTERFACE,
  MigrationMismatchError,
  MigrationSourceError,
  MigrationTargetError,
  MigrationUnmappableError,
  TABLES,
  consentIdAt,
  migrateFrom10,
} from "../../sdk/migrate/index.js";
import type { AddressBook10, AddressBook11, MigrateOptions, MigrationResult } from "../../sdk/migrate/index.js";
import { labelCommitment, sealLabels, sealTerms, termsCommitment } from "../../sdk/sealed/commitments.js";
import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";

const conn = await network.create();
const { ethers, networkHelpers } = conn;
const provider = ethers.provider as unknown as Provider;

interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
  sourceCommit: string;
}
const artifact = (name: string): Artifact =>
  JSON.parse(readFileSync(new URL(`../fixtures/contracts-1.0/${name}.json`, import.meta.url), "utf8")) as Artifact;
const A10 = {
  ParticipantDirectory: artifact("ParticipantDirectory"),
  ConsentRegistry: artifact("ConsentRegistry"),
  RecordRegistry: artifact("RecordRegistry"),
};

// 1.0 codes (bit indexes / masks as 1.0 defined them).
const K = { HOSPITAL: 1, LAB: 2, PAYER: 3 };
const ROLE = { CLINICIAN: 1, RESPONDER: 2, PAYER: 8, PRIVACY_OFFICER: 32 };
const POWER = { GRANT: 1, REVOKE: 2, ERASE: 4, RECOVER: 8, ACCESS: 16 };
const CAT = {
  CONDITIONS: 7,
  OBSERVATIONS: 2,
  NOTES: 8,
  FINANCIAL: 11,
  MEDICATIONS: 4,
  MENTAL_HEALTH: 16,
  SUBSTANCE_USE: 18,
};
const bit = (...cats: number[]) => cats.reduce((m, c) => (m | (1 << c)) >>> 0, 0);
const TREAT = 1 << 0;
const ETREAT = 1;
const READ = 1;
const APPEND = 2;
const DAY = 86_400;
const YEAR = 365 * DAY;
const key = (label: string) => keccak256(AbiCoder.defaultAbiCoder().encode(["string"], [`x25519:${label}`]));
const randomId = () => hexlify(randomBytes(32));
const SECRET = hexlify(randomBytes(32));

/** A 1.0 deployment (ethers contracts over the fixture ABIs). */
interface Ledger10 {
  directory: Contract;
  consents: Contract;
  records: Contract;
  book: AddressBook10;
}

async function deploy10(governance: HardhatEthersSigner): Promise<Ledger10> {
  const make = async (name: keyof typeof A10, args: unknown[]) => {
    const factory = new ContractFactory(A10[name].abi, A10[name].bytecode, governance);
    const c = await factory.deploy(...args);
    const receipt = (await c.deploymentTransaction()!.wait())!;
    return { contract: c as Contract, address: await c.getAddress(), blockNumber: receipt.blockNumber };
  };
  const d = await make("ParticipantDirectory", [governance.address]);
  const c = await make("ConsentRegistry", [d.address]);
  const r = await make("RecordRegistry", [d.address, c.address]);
  return {
    directory: d.contract,
    consents: c.contract,
    records: r.contract,
    book: {
      contracts: {
        ParticipantDirectory: { address: d.address, blockNumber: d.blockNumber },
        ConsentRegistry: { address: c.address, blockNumber: c.blockNumber },
        RecordRegistry: { address: r.address, blockNumber: r.blockNumber },
      },
    },
  };
}

/** Sends `fn(...args)` on `c` as `from` and waits. */
async function send(c: Contract, from: HardhatEthersSigner, fn: string, ...args: unknown[]): Promise<Log[]> {
  const tx = (await (c.connect(from) as Contract).getFunction(fn)(...args)) as { wait(): Promise<{ logs: Log[] }> };
  return (await tx.wait()).logs;
}

interface Terms10 {
  effect: number;
  granteeKind: number;
  granteeAccount: string;
  granteeOrg: number;
  granteeRoles: number;
  categories: number;
  purposes: number;
  actions: number;
  validFrom: number;
  validUntil: number;
}
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const terms10 = (o: Partial<Terms10>): Terms10 => ({
  effect: 0,
  granteeKind: 0,
  granteeAccount: ZERO_ADDRESS,
  granteeOrg: 0,
  granteeRoles: 0,
  categories: bit(CAT.OBSERVATIONS),
  purposes: TREAT,
  actions: READ,
  validFrom: 0,
  validUntil: 0,
  ...o,
});

/** The people of the 1.0 history. */
interface Cast {
  gov: HardhatEthersSigner;
  hospitalAdmin: HardhatEthersSigner;
  labAdmin: HardhatEthersSigner;
  labAdmin2: HardhatEthersSigner;
  payerAdmin: HardhatEthersSigner;
  doctor: HardhatEthersSigner;
  responder: HardhatEthersSigner;
  labTech: HardhatEthersSigner;
  officer: HardhatEthersSigner;
  clerk: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  never: HardhatEthersSigner;
}

async function cast(): Promise<Cast> {
  const s = await ethers.getSigners();
  const at = (i: number) => s[i]!;
  return {
    gov: at(0),
    hospitalAdmin: at(1),
    labAdmin: at(2),
    labAdmin2: at(3),
    payerAdmin: at(4),
    doctor: at(5),
    responder: at(6),
    labTech: at(7),
    officer: at(8),
    clerk: at(9),
    alice: at(10),
    bob: at(11),
    guardian: at(12),
    stranger: at(13),
    never: at(14),
  };
}

interface History {
  l: Ledger10;
  who: Cast;
  alice: string;
  bob: string;
  /** Record ids by name. */
  rec: Record<string, string>;
  /** The batch member supplied from its manifest, and the one never carried. */
  supplied: { root: string; recordId: string; category: number; digest: string; proof: string[] };
  missing: string;
}

/** A realistic 1.0 history: three organizations, five practitioners, two patients, a guardian, consents, anchors, a batch, versions, an erase, break-glass. */
async function writeHistory(): Promise<History> {
  const who = await cast();
  const l = await deploy10(who.gov);
  const { directory: d, consents: c, records: r } = l;
  const now = async () => Number((await provider.getBlock("latest"))!.timestamp);
  // Organizations: a hospital (key rotated), a lab (admin changed), a payer (suspended later).
  await send(d, who.gov, "admitOrganization", K.HOSPITAL, who.hospitalAdmin.address, key("hospital"));
  await send(d, who.gov, "admitOrganization", K.LAB, who.labAdmin.address, key("lab"));
  await send(d, who.gov, "admitOrganization", K.PAYER, who.payerAdmin.address, key("payer"));
  await send(d, who.hospitalAdmin, "rotateOrganizationKey", 1, key("hospital-v2"));
  await send(d, who.labAdmin, "setOrganizationAdmin", 2, who.labAdmin2.address);
  const until = (await now()) + YEAR;
  await send(d, who.hospitalAdmin, "enrollPractitioner", 1, who.doctor.address, ROLE.CLINICIAN, until, key("doctor"));
  await send(
    d,
    who.hospitalAdmin,
    "enrollPractitioner",
    1,
    who.responder.address,
    ROLE.RESPONDER | ROLE.CLINICIAN,
    until,
    key("responder"),
  );
  await send(d, who.labAdmin2, "enrollPractitioner", 2, who.labTech.address, ROLE.CLINICIAN, until, key("labtech"));
  await send(
    d,
    who.labAdmin2,
    "enrollPractitioner",
    2,
    who.officer.address,
    ROLE.PRIVACY_OFFICER,
    until,
    key("officer"),
  );
  await send(d, who.payerAdmin, "enrollPractitioner", 3, who.clerk.address, ROLE.PAYER, until, key("clerk"));
  await send(d, who.doctor, "rotatePractitionerKey", key("doctor-v2"));
  await send(
    d,
    who.labAdmin2,
    "updatePractitioner",
    who.labTech.address,
    ROLE.CLINICIAN | ROLE.PRIVACY_OFFICER,
    until + DAY,
  );
  // Patients: random subject ids; Alice registered by the hospital, Bob by himself.
  const alice = randomId();
  const bob = randomId();
  await send(d, who.hospitalAdmin, "registerPatient", alice, who.alice.address, key("alice"));
  await send(d, who.bob, "registerPatient", bob, who.bob.address, key("bob"));
  await send(d, who.bob, "rotatePatientKey", bob, key("bob-v2"));
  await send(
    d,
    who.alice,
    "setGuardian",
    alice,
    who.guardian.address,
    POWER.GRANT | POWER.REVOKE | POWER.RECOVER | POWER.ACCESS,
    0,
  );
  await send(d, who.alice, "setGuardian", alice, who.stranger.address, POWER.RECOVER, 0);
  await send(d, who.alice, "setGuardian", alice, who.stranger.address, 0, 0); // removed again
  await send(d, who.alice, "setRecoveryThreshold", alice, 1);
  await send(d, who.guardian, "approveRecovery", alice, who.never.address); // pending: not carried
  // Alice's consents.
  const t = await now();
  const aliceConsents: Terms10[] = [
    // 1: the hospital's clinicians: conditions, observations, notes, mental health; read and append for treatment.
    terms10({
      granteeKind: 1,
      granteeOrg: 1,
      granteeRoles: ROLE.CLINICIAN,
      categories: bit(CAT.CONDITIONS, CAT.OBSERVATIONS, CAT.NOTES, CAT.MENTAL_HEALTH),
      actions: READ | APPEND,
    }),
    // 2: the lab technician appends and reads observations.
    terms10({
      granteeAccount: who.labTech.address,
      categories: bit(CAT.OBSERVATIONS),
      actions: READ | APPEND,
      purposes: TREAT | (1 << 8),
    }),
    // 3: the doctor, everything public (revoked below).
    terms10({ granteeAccount: who.doctor.address, categories: 0x1fff | (1 << 15), purposes: 0x3ff, actions: READ }),
    // 5 (by the guardian, after 4): deny the responder notes and mental health, every purpose (purposes 0).
    // 4: a payer permit for financial data, for a month.
    terms10({
      granteeKind: 1,
      granteeOrg: 3,
      granteeRoles: ROLE.PAYER,
      categories: bit(CAT.FINANCIAL),
      purposes: 1 << 2,
      validUntil: t + 30 * DAY,
    }),
  ];
  for (const x of aliceConsents) await send(c, who.alice, "grant", alice, x);
  await send(
    c,
    who.guardian,
    "grant",
    alice,
    terms10({
      effect: 1,
      granteeAccount: who.responder.address,
      categories: bit(CAT.NOTES, CAT.MENTAL_HEALTH),
      purposes: 0,
    }),
  );
  // 6: a deny for any organization's payers on substance use (sensitive only), 7: an account never enrolled.
  await send(
    c,
    who.alice,
    "grant",
    alice,
    terms10({
      effect: 1,
      granteeKind: 1,
      granteeOrg: 0,
      granteeRoles: ROLE.PAYER,
      categories: bit(CAT.SUBSTANCE_USE),
      purposes: 0,
    }),
  );
  await send(c, who.alice, "grant", alice, terms10({ granteeAccount: who.never.address }));
  // 8: a short permit that will have expired at the migration.
  await send(c, who.alice, "grant", alice, terms10({ granteeAccount: who.officer.address, validUntil: t + DAY }));
  await send(c, who.alice, "revoke", alice, consentIdAt(alice, 3));
  // Bob: the hospital's clinicians, medications and observations; opts out of break-glass.
  await send(
    c,
    who.bob,
    "grant",
    bob,
    terms10({
      granteeKind: 1,
      granteeOrg: 1,
      granteeRoles: ROLE.CLINICIAN,
      categories: bit(CAT.MEDICATIONS, CAT.OBSERVATIONS, CAT.CONDITIONS),
      actions: READ | APPEND,
    }),
  );
  await send(c, who.bob, "setBreakGlassOptOut", bob, true);

  // Records: single anchors (a version chain, a sensitive one, the lab's, Alice's own), an erase.
  const rec: Record<string, string> = {};
  const anchor = async (
    from: HardhatEthersSigner,
    name: string,
    subject: string,
    category: number,
    previous = ZeroHash,
  ) => {
    rec[name] = randomId();
    await send(r, from, "anchorRecord", rec[name], subject, category, randomId(), previous, `ipfs://${name}`, ZeroHash);
  };
  await anchor(who.doctor, "v1", alice, CAT.CONDITIONS);
  await networkHelpers.time.increase(DAY);
  await anchor(who.doctor, "v2", alice, CAT.CONDITIONS, rec.v1);
  await anchor(who.doctor, "v3", alice, CAT.CONDITIONS, rec.v2);
  await anchor(who.doctor, "psych", alice, CAT.MENTAL_HEALTH);
  await anchor(who.labTech, "lab", alice, CAT.OBSERVATIONS);
  await anchor(who.alice, "own", alice, CAT.NOTES);
  await anchor(who.alice, "own2", alice, CAT.NOTES, rec.own);
  await send(r, who.alice, "eraseRecord", rec.v1);
  await send(r, who.alice, "eraseRecord", rec.psych);
  // A batch for Bob: four members; two proven on 1.0, one supplied from the manifest, one never carried.
  const members = [CAT.MEDICATIONS, CAT.OBSERVATIONS, CAT.MEDICATIONS, CAT.CONDITIONS].map(
    (category) => [randomId(), category, randomId()] as [string, number, string],
  );
  const tree = StandardMerkleTree.of(members, ["bytes32", "uint8", "bytes32"]);
  await send(
    r,
    who.doctor,
    "anchorBatch",
    bob,
    tree.root,
    4,
    bit(CAT.MEDICATIONS, CAT.OBSERVATIONS, CAT.CONDITIONS),
    "ipfs://batch",
    ZeroHash,
  );
  for (const i of [0, 1]) {
    const [id, category, digest] = members[i]!;
    await send(r, who.responder, "proveRecord", tree.root, id, category, digest, tree.getProof(i));
    rec[`batch${i}`] = id;
  }
  const [sid, scat, sdigest] = members[2]!;
  // Access log and break-glass (history only: not carried). The responder's glass-break on Alice
  // ignores her deny on 1.0 (finding 4); its review stays open.
  await send(r, who.doctor, "access", rec.v3, 0, ZeroHash);
  await send(r, who.responder, "breakGlassAccess", [rec.lab], ETREAT, 7);
  // The payer is suspended (its clerk then fails every check).
  await send(d, who.gov, "suspendOrganization", 3);
  await networkHelpers.time.increase(2 * DAY); // consent 8 expires
  return {
    l,
    who,
    alice,
    bob,
    rec,
    supplied: { root: tree.root, recordId: sid, category: scat, digest: sdigest, proof: tree.getProof(2) },
    missing: members[3]![0],
  };
}

interface Target11 {
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
  book: AddressBook11;
  migrator: HardhatEthersSigner;
}

/** A fresh, unsealed 1.1 deployment whose migrator is `migrator`. */
async function fresh11(migrator: HardhatEthersSigner): Promise<Target11> {
  const directory = await new ParticipantDirectory__factory(migrator).deploy(migrator.address, migrator.address);
  const consents = await new ConsentRegistry__factory(migrator).deploy(await directory.getAddress(), migrator.address);
  const records = await new RecordRegistry__factory(migrator).deploy(
    await directory.getAddress(),
    await consents.getAddress(),
    migrator.address,
  );
  return {
    directory,
    consents,
    records,
    migrator,
    book: {
      contracts: {
        ParticipantDirectory: { address: await directory.getAddress() },
        ConsentRegistry: { address: await consents.getAddress() },
        RecordRegistry: { address: await records.getAddress() },
      },
    },
  };
}

const opts = (h: History, t: Target11, extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
  source: { rpc: provider, addressBook10: h.l.book },
  target: { signer: t.migrator, addressBook11: t.book },
  secret: SECRET,
  batchMembers: [h.supplied],
  ...extra,
});

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe("migration 1.0 → 1.1 with real 1.0 contracts (migrateFrom10)", function () {
  this.timeout(300_000);
  let h: History;
  let t: Target11;
  let result: MigrationResult;

  before(async () => {
    h = await writeHistory();
    t = await fresh11(h.who.gov);
    const lines: string[] = [];
    result = await migrateFrom10(opts(h, t, { log: (line) => lines.push(line) }));
    console.log(
      `      migrated ${result.source.events} 1.0 events (${total(result.imported)} imports in ${result.batches} batch(es), ${result.gasUsed.toLocaleString("en")} gas) in ${result.elapsedMs} ms`,
    );
  });

  it("the fixture artifacts are 1.0 from git history, and the tool's 1.0 event ABI matches them", async () => {
    for (const a of Object.values(A10)) expect(a.sourceCommit).to.equal("cd50825dc342f48dc4eecae10b9f16ca8f3005e9");
    const mine = new Set<string>();
    LEDGER_10_INTERFACE.forEachEvent((e) => mine.add(e.topicHash));
    for (const [name, a] of Object.entries(A10)) {
      const compiled = new Interface(a.abi);
      compiled.forEachEvent((event) => {
        // OpenZeppelin's role and EIP-712 events: not state the migration carries.
        if (event.name.startsWith("Role") || event.name === "EIP712DomainChanged") return;
        const ours = LEDGER_10_INTERFACE.getEvent(event.topicHash);
        expect(ours?.format("full"), `${name}.${event.name}`).to.equal(event.format("full"));
        mine.delete(event.topicHash);
      });
    }
    expect(mine.size, "every event the tool decodes exists in 1.0").to.equal(0);
    expect(await h.l.directory.getFunction("version")()).to.equal("1.0.0");
  });

  it("imports every table, verifies it and seals the three contracts", async () => {
    expect(result.sealed).to.equal(true);
    for (const c of [t.directory, t.consents, t.records]) expect(await c.migrationSealed()).to.equal(true);
    expect(result.imported).to.deep.equal({
      organizations: 3,
      practitioners: 5,
      patients: 2,
      guardians: 1,
      consents: 9,
      optOuts: 1,
      records: 10,
    });
    for (const table of TABLES) expect(result.verification[table]?.digest).to.match(/^0x[0-9a-f]{64}$/);
    await expect(
      t.directory.importOrganization(4, K.LAB, h.who.stranger.address, key("x"), 1, false),
    ).to.be.revertedWithCustomError(t.directory, "MigrationClosed");
  });

  it("keeps organization ids, keys and states; practitioners with roles, expiry, keys", async () => {
    const o1 = await t.directory.getOrganization(1);
    expect([o1.admin, o1.encryptionKey, o1.keyVersion]).to.deep.equal([
      h.who.hospitalAdmin.address,
      key("hospital-v2"),
      2n,
    ]);
    expect((await t.directory.getOrganization(2)).admin).to.equal(h.who.labAdmin2.address);
    expect((await t.directory.getOrganization(3)).suspended).to.equal(true);
    for (const who of [h.who.doctor, h.who.responder, h.who.labTech, h.who.officer, h.who.clerk]) {
      const old = (await h.l.directory.getFunction("getPractitioner")(who.address)) as unknown[];
      const now = await t.directory.getPractitioner(who.address);
      expect([
        now.orgId,
        now.roles,
        now.credentialValidUntil,
        now.suspended,
        now.encryptionKey,
        now.keyVersion,
      ]).to.deep.equal(old);
    }
  });

  it("keeps the 1.0 subject ids with controllers, keys, thresholds, epochs and guardians", async () => {
    for (const subject of [h.alice, h.bob]) {
      const old = (await h.l.directory.getFunction("getPatient")(subject)) as unknown[];
      const now = await t.directory.getPatient(subject);
      expect([now.controller, now.encryptionKey, now.keyVersion, now.recoveryThreshold, now.epoch]).to.deep.equal(old);
    }
    const g = await t.directory.getGuardian(h.alice, h.who.guardian.address);
    expect([g.powers, g.validUntil]).to.deep.equal([
      BigInt(POWER.GRANT | POWER.REVOKE | POWER.RECOVER | POWER.ACCESS),
      0n,
    ]);
    expect((await t.directory.getGuardian(h.alice, h.who.stranger.address)).powers).to.equal(0n); // removed on 1.0
    expect(await t.consents.breakGlassOptedOut(h.bob)).to.equal(true);
    expect(await t.consents.breakGlassOptedOut(h.alice)).to.equal(false);
  });

  it("keeps consent ids, grantees, windows and revocations; sensitive categories move into the sealed terms", async () => {
    for (const subject of [h.alice, h.bob]) {
      const n = Number(await h.l.consents.getFunction("consentCount")(subject));
      expect(await t.consents.consentCount(subject)).to.equal(BigInt(n));
      for (let seq = 1; seq <= n; seq++) {
        const id = consentIdAt(subject, seq);
        expect(await t.consents.consentIdAt(subject, seq)).to.equal(id);
        const [old, revokedAt] = (await h.l.consents.getFunction("getConsent")(subject, id)) as [
          Terms10 & unknown[],
          bigint,
        ];
        const now = await t.consents.getConsent(subject, id);
        expect(now.revokedAt, `revokedAt ${seq}`).to.equal(revokedAt);
        expect([
          now.effect,
          now.granteeKind,
          now.granteeRoles,
          now.purposes,
          now.actions,
          now.validFrom,
          now.validUntil,
        ]).to.deep.equal(
          [old.effect, old.granteeKind, old.granteeRoles, old.purposes, old.actions, old.validFrom, old.validUntil].map(
            BigInt,
          ),
        );
        expect(now.categories, `categories ${seq}`).to.equal(BigInt(Number(old.categories) & 0x9fff));
      }
    }
    // Alice's consent 1 named mental health: its sealed terms open to allowLabels MENTAL_HEALTH.
    const c1 = result.plan.consents.find((c) => c.subject === h.alice && c.sequence === 1)!;
    expect(c1.opening.allowLabels).to.equal(1);
    expect(c1.terms.sealedTerms).to.equal(termsCommitment(sealTerms({ subject: h.alice, ...c1.opening })));
    // The guardian's deny (purposes 0 on 1.0) covers every purpose and denies mental health by label.
    const deny = result.plan.consents.find((c) => c.subject === h.alice && c.sequence === 5)!;
    expect([deny.terms.purposes, deny.opening.denyLabels, deny.terms.categories]).to.deep.equal([
      0x3ff,
      1,
      bit(CAT.NOTES),
    ]);
    expect((await t.consents.getConsent(h.alice, deny.consentId)).byGuardian).to.equal(true);
    // A deny that named only a sensitive category keeps a public mask of 0 (binds by its sealed terms).
    const sealedOnly = result.plan.consents.find((c) => c.subject === h.alice && c.sequence === 6)!;
    expect([sealedOnly.terms.categories, sealedOnly.opening.denyLabels]).to.deep.equal([0, 4]);
  });

  it("answers every access check as 1.0 did (accessor × public category × purpose × action)", async () => {
    const accessors = (Object.values(h.who) as HardhatEthersSigner[]).map((s) => s.address);
    let checks = 0;
    let allowed = 0;
    for (const subject of [h.alice, h.bob]) {
      for (const accessor of accessors) {
        for (let category = 0; category < 16; category++) {
          const grid: [number, number][] = [[APPEND, 0]];
          for (let purpose = 0; purpose < 10; purpose++) grid.push([READ, purpose]);
          for (const [action, purpose] of grid) {
            const old = (await h.l.consents.getFunction("check")(accessor, subject, category, purpose, action)) as [
              boolean,
              bigint,
              bigint,
              string,
              bigint,
            ];
            const now = await t.consents.check(accessor, subject, category, purpose, action);
            const where = `${accessor} subject ${subject.slice(0, 10)} category ${category} purpose ${purpose} action ${action}`;
            expect(now.allowed, where).to.equal(old[0]);
            if (old[0]) {
              expect([now.basis, now.consentId], where).to.deep.equal([old[2], old[3]]);
              allowed++;
            } else if (old[1] === 9n) {
              expect([now.reason, now.consentId], where).to.deep.equal([9n, old[3]]); // DENIED_BY_SUBJECT, same deny
            }
            checks++;
          }
        }
      }
    }
    expect(checks).to.equal(2 * 15 * 16 * 11);
    expect(allowed).to.be.greaterThan(300); // the grid exercises permits, denies and the subject's own access
  });

  it("keeps record anchors: digests (with the label commitment), custodians, times, version links, tombstones", async () => {
    for (const [name, id] of Object.entries(h.rec)) {
      const [subject, digest, custodian, category, anchoredAt, erasedAt, superseded] = (await h.l.records.getFunction(
        "getRecord",
      )(id)) as [string, string, bigint, bigint, bigint, bigint, boolean];
      const planned = result.plan.records.find((r) => r.recordId === id)!;
      const opening = sealLabels({ subject, recordId: id, labels: planned.labels, salt: planned.salt });
      const now = await t.records.getRecord(subject, id);
      expect(now.commitment, name).to.equal(
        keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [digest, labelCommitment(opening)])),
      );
      expect([now.custodian, now.anchoredAt, now.erasedAt, now.superseded], name).to.deep.equal([
        custodian,
        anchoredAt,
        erasedAt,
        superseded,
      ]);
      if (name === "psych")
        expect([now.category, planned.labels], name).to.deep.equal([15n, 1]); // OTHER + MENTAL_HEALTH
      else expect([now.category, planned.labels], name).to.deep.equal([category, 0]); // the empty-label commitment
    }
    // The version chain v1 → v2 → v3 is rebuilt: only v3 is current, v1 keeps its tombstone.
    expect((await t.records.getRecord(h.alice, h.rec.v2!)).superseded).to.equal(true);
    expect((await t.records.getRecord(h.alice, h.rec.v3!)).superseded).to.equal(false);
  });

  it("carries proven batch members and members supplied from the manifest; says which are not carried", async () => {
    const batch = result.plan.batches[0]!;
    expect([batch.count, batch.proven, batch.supplied, batch.missing]).to.deep.equal([4, 2, 1, 1]);
    const supplied = await t.records.getRecord(h.bob, h.supplied.recordId);
    const [, , , , batchTime] = (await h.l.records.getFunction("getBatch")(h.supplied.root)) as bigint[];
    expect([supplied.custodian, supplied.anchoredAt]).to.deep.equal([1n, batchTime]);
    await expect(t.records.getRecord(h.bob, h.missing)).to.be.revertedWithCustomError(t.records, "RecordUnknown");
    expect(result.planText.join("\n")).to.include("1 batch member(s) neither proven on 1.0 nor supplied");
    expect(result.planText.join("\n")).to.include("1 break-glass review(s) still open on 1.0");
    expect(result.planText.join("\n")).to.include("the empty-label commitment");
    expect(result.planText.join("\n")).to.include("1 pending recovery approval(s): not carried");
  });

  it("a dry run prints the plan, reads what the target holds and sends nothing", async () => {
    const t2 = await fresh11(h.who.gov);
    const nonce = await provider.getTransactionCount(h.who.gov.address);
    const lines: string[] = [];
    const dry = await migrateFrom10(opts(h, t2, { dryRun: true, secret: undefined, log: (l) => lines.push(l) }));
    expect(await provider.getTransactionCount(h.who.gov.address)).to.equal(nonce);
    expect(dry.dryRun).to.equal(true);
    expect(total(dry.imported)).to.equal(0);
    expect(lines.join("\n")).to.match(/migration plan \(1\.0 state at block \d+\)/);
    expect(dry.planText.slice(1).join("\n")).to.equal(result.planText.slice(1).join("\n"));
    expect(lines.join("\n")).to.match(/consents\s+9/);
  });

  it("takes the clinical type of a sensitive record from the operator, and refuses a non-public one", async () => {
    const psych = (r: { recordId: string }) => (r.recordId === h.rec.psych ? CAT.CONDITIONS : undefined);
    const dry = await migrateFrom10({ ...opts(h, t), target: undefined, dryRun: true, recordCategory: psych });
    const planned = dry.plan.records.find((r) => r.recordId === h.rec.psych)!;
    expect([planned.category, planned.labels, planned.category10]).to.deep.equal([
      CAT.CONDITIONS,
      1,
      CAT.MENTAL_HEALTH,
    ]);
    const err = await migrateFrom10({ ...opts(h, t), target: undefined, dryRun: true, recordCategory: () => 16 }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(InvalidInputError);
  });

  it("resumes an interrupted run: re-running imports nothing twice", async () => {
    const t2 = await fresh11(h.who.gov);
    const interrupted = new Error("crash after 3 batches");
    let batches = 0;
    const cutover = await provider.getBlockNumber();
    const base = opts(h, t2, { batchSize: 4 });
    base.source.toBlock = cutover;
    const crash = await migrateFrom10({
      ...base,
      onBatch: () => {
        if (++batches === 3) throw interrupted;
      },
    }).catch((e: unknown) => e);
    expect(crash).to.equal(interrupted);
    expect(await t2.directory.migrationSealed()).to.equal(false);
    const again = await migrateFrom10(base);
    expect(total(again.alreadyThere)).to.equal(12);
    expect(total(again.imported)).to.equal(total(result.imported) - 12);
    expect(again.sealed).to.equal(true);
    expect(again.verification).to.deep.equal(result.verification);
    // Every entry was imported once: one import event per entry on the target.
    const count = async (c: { getAddress(): Promise<string> }, topic: string) =>
      (await provider.getLogs({ address: await c.getAddress(), topics: [topic], fromBlock: 0 })).length;
    expect(await count(t2.records, t2.records.interface.getEvent("RecordImported").topicHash)).to.equal(10);
    expect(await count(t2.consents, t2.consents.interface.getEvent("ConsentGranted").topicHash)).to.equal(9);
    expect(await count(t2.directory, t2.directory.interface.getEvent("OrganizationAdmitted").topicHash)).to.equal(3);
  });

  it("reads 1.0 through a node that refuses large eth_getLogs ranges and throttles", async () => {
    const t2 = await fresh11(h.who.gov);
    let throttled = false;
    const refusals: string[] = [];
    const limited = new Proxy(provider, {
      get(target, prop, receiver) {
        if (prop === "getLogs") {
          return async (filter: { fromBlock: number; toBlock: number }) => {
            if (!throttled) {
              throttled = true;
              throw new Error("429 Too Many Requests");
            }
            if (filter.toBlock - filter.fromBlock + 1 > 16) throw new Error("query exceeds max block range 16");
            return target.getLogs(filter);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const r = await migrateFrom10({
      ...opts(h, t2),
      source: {
        rpc: limited,
        addressBook10: h.l.book,
        logs: { maxRange: 1000, backoffMs: 1, onRefusal: (i) => refusals.push(i.action) },
      },
    });
    expect(refusals[0]).to.equal("backoff");
    expect(refusals).to.include("shrink");
    expect(r.source.refusals).to.be.greaterThan(1);
    expect(r.source.queries).to.be.greaterThan(r.source.toBlock / 16);
    expect(r.verification).to.deep.equal(result.verification);
  });

  describe("refusals", () => {
    it("refuses a source that is not 1.0 (MigrationSourceError NOT_1_0)", async () => {
      const t2 = await fresh11(h.who.gov);
      const other = await fresh11(h.who.gov);
      const book: AddressBook10 = {
        contracts: {
          ParticipantDirectory: { address: other.book.contracts.ParticipantDirectory!.address, blockNumber: 0 },
          ConsentRegistry: { address: other.book.contracts.ConsentRegistry!.address, blockNumber: 0 },
          RecordRegistry: { address: other.book.contracts.RecordRegistry!.address, blockNumber: 0 },
        },
      };
      const err = await migrateFrom10({ ...opts(h, t2), source: { rpc: provider, addressBook10: book } }).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(MigrationSourceError);
      expect((err as MigrationSourceError).reason).to.equal("NOT_1_0");
    });

    it("refuses a sealed target (MigrationTargetError SEALED) and a signer that is not the migrator", async () => {
      const sealed = await migrateFrom10(opts(h, t)).catch((e: unknown) => e);
      expect(sealed).to.be.instanceOf(MigrationTargetError);
      expect((sealed as MigrationTargetError).reason).to.equal("SEALED");
      const t2 = await fresh11(h.who.gov);
      const wrong = await migrateFrom10(opts(h, { ...t2, migrator: h.who.stranger })).catch((e: unknown) => e);
      expect((wrong as MigrationTargetError).reason).to.equal("NOT_MIGRATOR");
    });

    it("refuses a target holding other state (MigrationMismatchError), before sending anything", async () => {
      const t2 = await fresh11(h.who.gov);
      await (
        await t2.directory.importOrganization(1, K.HOSPITAL, h.who.stranger.address, key("impostor"), 1, false)
      ).wait();
      const nonce = await provider.getTransactionCount(h.who.gov.address);
      const err = await migrateFrom10(opts(h, t2)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MigrationMismatchError);
      expect([(err as MigrationMismatchError).table, (err as MigrationMismatchError).key]).to.deep.equal([
        "organizations",
        "1",
      ]);
      expect(await provider.getTransactionCount(h.who.gov.address)).to.equal(nonce);
    });

    it("refuses to seal when the target differs from the source at verification (MigrationMismatchError)", async () => {
      // Someone holding the migrator key changes an imported guardian while the run is under way.
      const t2 = await fresh11(h.who.gov);
      const err = await migrateFrom10({
        ...opts(h, t2),
        onBatch: async () => {
          await (await t2.directory.importGuardian(h.alice, h.who.guardian.address, POWER.ACCESS, 0)).wait();
        },
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MigrationMismatchError);
      expect([(err as MigrationMismatchError).table, (err as MigrationMismatchError).key]).to.deep.equal([
        "guardians",
        `${h.alice}/${h.who.guardian.address.toLowerCase()}`,
      ]);
      expect(await t2.directory.migrationSealed()).to.equal(false);
    });

    it("refuses 1.0 state that 1.1 cannot take (a consent naming an organization never admitted)", async () => {
      const who = h.who;
      const l = await deploy10(who.gov);
      await send(l.directory, who.gov, "admitOrganization", K.HOSPITAL, who.hospitalAdmin.address, key("h"));
      const subject = randomId();
      await send(l.directory, who.alice, "registerPatient", subject, who.alice.address, key("a"));
      await send(
        l.consents,
        who.alice,
        "grant",
        subject,
        terms10({ granteeKind: 1, granteeOrg: 99, granteeRoles: ROLE.CLINICIAN }),
      );
      const t2 = await fresh11(who.gov);
      const err = await migrateFrom10({
        ...opts(h, t2),
        batchMembers: [],
        source: { rpc: provider, addressBook10: l.book },
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MigrationUnmappableError);
      expect((err as MigrationUnmappableError).items[0]).to.include("organization 99");
      expect(await t2.directory.organizationCount()).to.equal(0n);
    });

    it("refuses to seal when 1.0 was written after the cut-over block (MigrationSourceError CHANGED_AFTER_CUTOVER)", async () => {
      const who = h.who;
      const l = await deploy10(who.gov);
      const subject = randomId();
      await send(l.directory, who.bob, "registerPatient", subject, who.bob.address, key("b"));
      const cutover = await provider.getBlockNumber();
      await send(l.directory, who.bob, "rotatePatientKey", subject, key("b2"));
      const t2 = await fresh11(who.gov);
      const err = await migrateFrom10({
        ...opts(h, t2),
        batchMembers: [],
        source: { rpc: provider, addressBook10: l.book, toBlock: cutover },
      }).catch((e: unknown) => e);
      expect((err as MigrationSourceError).reason).to.equal("CHANGED_AFTER_CUTOVER");
      expect(await t2.directory.migrationSealed()).to.equal(false);
    });
  });

  it("runs as the deploy's migrate hook: a new 1.1 deployment, imported, verified, sealed, handed over", async () => {
    let migrated: MigrationResult | undefined;
    const book = await deployMedLedger(h.who.gov, {
      network: "migration-test",
      governance: { multisig: h.who.stranger.address },
      warn: () => undefined,
      migrate: async (partial) => {
        migrated = await migrateFrom10(opts(h, { ...(await fresh11(h.who.gov)), book: partial }));
      },
    });
    expect(migrated?.sealed).to.equal(true);
    const directory = ParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, provider);
    expect(await directory.controllerOf(h.alice)).to.equal(h.who.alice.address);
    expect(await directory.hasRole(await directory.GOVERNANCE_ROLE(), h.who.gov.address)).to.equal(false);
  });
});
