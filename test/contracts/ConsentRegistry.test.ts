/**
 * ConsentRegistry: grants (direct and EIP-712), revocations, break-glass preference and the
 * consent check with every refusal reason it can produce.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import type { Signer, TypedDataDomain } from "ethers";
import { network } from "hardhat";

import type { ConsentTermsStruct, DecisionStructOutput } from "../../types/typechain/ConsentRegistry.js";
import {
  ALL_CATEGORIES,
  Action,
  CONSENT_DOMAIN_NAME,
  CONSENT_DOMAIN_VERSION,
  Category,
  DAY,
  Effect,
  GRANT_TYPES,
  GranteeKind,
  Power,
  Purpose,
  REVOKE_TYPES,
  Reason,
  Role,
  YEAR,
  buildWorld,
  categoryMask,
  commitment,
  consentDomain,
  fakeKey,
  purposeMask,
  randomId,
  registerSubject,
  terms,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";

const conn = await network.create();
const { networkHelpers, ethers } = conn;
const { time } = networkHelpers;

const POWER_GRANT = Power.GRANT; // 1
const POWER_REVOKE = Power.REVOKE; // 2
const BASIS_NONE = 0;
const BASIS_CONSENT = 1;
const BASIS_SUBJECT = 3;
const ALL_PURPOSES = 1023;
const ZERO_ID = ethers.ZeroHash;

type DenyReasonName = keyof typeof Reason;
const REASON_NAMES = Object.keys(Reason) as DenyReasonName[];
const denyReasonName = (code: bigint | number): DenyReasonName => REASON_NAMES[Number(code)]!;

/** An ERC-1271 wallet that accepts every signature: returns isValidSignature's magic value for any call. */
const ACCEPTING_1271_INITCODE = "0x6010600c60003960106000f3" + "631626ba7e60e01b60005260206000f3";
/** An ERC-1271 wallet that rejects every signature: returns 32 zero bytes for any call. */
const REJECTING_1271_INITCODE = "0x6005600c60003960056000f3" + "60206000f3";

describe("ConsentRegistry", () => {
  async function world(): Promise<World> {
    return buildWorld(conn);
  }

  // ───────────────────────────── helpers ─────────────────────────────

  /** Accounts the fixture does not use (13..19 of the 20 default accounts). */
  function extra(w: World, i: number): HardhatEthersSigner {
    const s = w.signers[13 + i];
    if (s === undefined) throw new Error(`no extra signer ${i}`);
    return s;
  }

  async function appoint(w: World, who: HardhatEthersSigner, powers: number, validUntil = 0): Promise<void> {
    await (await w.directory.connect(w.patient).setGuardian(w.subject, who.address, powers, validUntil)).wait();
  }

  /** Grants `t` for `subject` as `by`; returns the new consent id. */
  async function grantAs(
    w: World,
    by: HardhatEthersSigner,
    t: ConsentTermsStruct,
    subject = w.subject,
  ): Promise<string> {
    const id = await w.consents.consentIdAt(subject, Number(await w.consents.consentCount(subject)) + 1);
    await (await w.consents.connect(by).grant(subject, t)).wait();
    return id;
  }

  function offChainId(subject: string, sequence: number): string {
    return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint32"], [subject, sequence]));
  }

  /** The terms as the ordered tuple an event or getConsent carries. */
  function tuple(t: ConsentTermsStruct): unknown[] {
    return [
      t.effect,
      t.granteeKind,
      t.granteeAccount,
      t.granteeOrg,
      t.granteeRoles,
      t.categories,
      t.purposes,
      t.actions,
      t.validFrom,
      t.validUntil,
      t.sealedTerms,
    ];
  }

  async function expectStored(
    w: World,
    id: string,
    expected: ConsentTermsStruct,
    revokedAt: number | bigint = 0,
    subject = w.subject,
  ): Promise<void> {
    const s = await w.consents.getConsent(subject, id);
    const stored = [
      s.effect,
      s.granteeKind,
      s.granteeAccount,
      s.granteeOrg,
      s.granteeRoles,
      s.categories,
      s.purposes,
      s.actions,
      s.validFrom,
      s.validUntil,
    ];
    // The sealed-terms commitment is emitted, never stored.
    expect(stored.map((v) => String(v))).to.deep.equal(tuple(expected).slice(0, 10).map((v) => String(v)));
    expect(s.revokedAt).to.equal(BigInt(revokedAt));
  }

  function decision(d: DecisionStructOutput) {
    return {
      allowed: d.allowed,
      reason: denyReasonName(d.reason),
      basis: Number(d.basis),
      consentId: d.consentId,
      accessorOrg: Number(d.accessorOrg),
    };
  }

  function allowedBy(consentId: string, accessorOrg: number) {
    return { allowed: true, reason: "NONE", basis: BASIS_CONSENT, consentId, accessorOrg };
  }

  function refused(reason: DenyReasonName, consentId: string, accessorOrg: number) {
    return { allowed: false, reason, basis: BASIS_NONE, consentId, accessorOrg };
  }

  const asSubject = { allowed: true, reason: "NONE", basis: BASIS_SUBJECT, consentId: ZERO_ID, accessorOrg: 0 };

  async function check(
    w: World,
    accessor: { address: string },
    category: number,
    purpose: number,
    action: number,
    subject = w.subject,
  ) {
    return decision(await w.consents.check(accessor.address, subject, category, purpose, action));
  }

  async function checkHint(
    w: World,
    accessor: { address: string },
    category: number,
    purpose: number,
    action: number,
    hint: string,
  ) {
    return decision(await w.consents.checkWithHint(accessor.address, w.subject, category, purpose, action, hint));
  }

  /** Both entry points must agree when no hint is given; returns the decision. */
  async function checkBoth(w: World, accessor: { address: string }, category: number, purpose: number, action: number) {
    const a = await check(w, accessor, category, purpose, action);
    expect(await checkHint(w, accessor, category, purpose, action, ZERO_ID)).to.deep.equal(a);
    return a;
  }

  interface SigOpts {
    /** The `signer` field of the typed data (default: the signing account). */
    signerField?: string;
    subject?: string;
    nonce?: bigint | number;
    deadline?: number;
    domain?: TypedDataDomain;
  }

  async function deadlineIn(w: World, seconds = DAY): Promise<number> {
    return (await w.now()) + seconds;
  }

  async function signGrant(w: World, signer: Signer, t: ConsentTermsStruct, o: SigOpts = {}) {
    const nonce = o.nonce ?? (await w.consents.nonces(await signer.getAddress()));
    const deadline = o.deadline ?? (await deadlineIn(w));
    const domain = o.domain ?? (await consentDomain(w));
    const signature = await signer.signTypedData(domain, GRANT_TYPES, {
      signer: o.signerField ?? (await signer.getAddress()),
      subject: o.subject ?? w.subject,
      terms: t,
      nonce,
      deadline,
    });
    return { signature, deadline, nonce };
  }

  async function signRevoke(w: World, signer: Signer, consentId: string, o: SigOpts = {}) {
    const nonce = o.nonce ?? (await w.consents.nonces(await signer.getAddress()));
    const deadline = o.deadline ?? (await deadlineIn(w));
    const domain = o.domain ?? (await consentDomain(w));
    const signature = await signer.signTypedData(domain, REVOKE_TYPES, {
      signer: o.signerField ?? (await signer.getAddress()),
      subject: o.subject ?? w.subject,
      consentId,
      nonce,
      deadline,
    });
    return { signature, deadline, nonce };
  }

  async function deploy1271(w: World, initcode: string): Promise<string> {
    const receipt = await (await w.stranger.sendTransaction({ data: initcode })).wait();
    const address = receipt!.contractAddress!;
    expect(await ethers.provider.getCode(address)).to.not.equal("0x");
    return address;
  }

  const doctorPermit = (w: World, o: Partial<ConsentTermsStruct> = {}) =>
    terms({ granteeAccount: w.doctor.address, ...o });
  const deny = (o: Partial<ConsentTermsStruct>) => terms({ effect: Effect.DENY, ...o });

  // ───────────────────────────── views ─────────────────────────────

  describe("views and deployment", () => {
    it("version() is 1.1.0, directory() is the participant directory, lists hold 8 of which guardians 4", async () => {
      const w = await networkHelpers.loadFixture(world);
      expect(await w.consents.version()).to.equal("1.1.0");
      expect(await w.consents.directory()).to.equal(await w.directory.getAddress());
      expect(await w.consents.BUCKET_CAPACITY()).to.equal(8n);
      expect(await w.consents.GUARDIAN_PLACES()).to.equal(4n);
    });

    it("eip712Domain() is the documented domain, version 2", async () => {
      const w = await networkHelpers.loadFixture(world);
      const { chainId } = await ethers.provider.getNetwork();
      const address = await w.consents.getAddress();
      const d = await w.consents.eip712Domain();
      expect(d.fields).to.equal("0x0f");
      expect(d.name).to.equal(CONSENT_DOMAIN_NAME).and.to.equal("MedLedger ConsentRegistry");
      expect(d.version).to.equal(CONSENT_DOMAIN_VERSION).and.to.equal("2");
      expect(d.chainId).to.equal(chainId);
      expect(d.verifyingContract).to.equal(address);
      expect(d.salt).to.equal(ZERO_ID);
      expect(d.extensions).to.deep.equal([]);
      expect(await consentDomain(w)).to.deep.equal({ name: d.name, version: d.version, chainId, verifyingContract: address });
    });

    it("a fresh subject has no consents, no nonce, no opt-out; consentIdAt is keccak256(abi.encode(subject, n))", async () => {
      const w = await networkHelpers.loadFixture(world);
      expect(await w.consents.consentCount(w.subject)).to.equal(0n);
      expect(await w.consents.nonces(w.patient.address)).to.equal(0n);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(false);
      for (const n of [0, 1, 2, ALL_CATEGORIES]) {
        expect(await w.consents.consentIdAt(w.subject, n)).to.equal(offChainId(w.subject, n));
      }
      expect(await w.consents.consentIdAt(w.subject, 1)).to.not.equal(await w.consents.consentIdAt(randomId(), 1));
    });

    it("getConsent of an unknown id reverts ConsentUnknown(subject, id)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = offChainId(w.subject, 1);
      await expect(w.consents.getConsent(w.subject, id))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, id);
      await expect(w.consents.getConsent(w.subject, ZERO_ID))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, ZERO_ID);
    });
  });

  // ───────────────────────────── grant ─────────────────────────────

  describe("grant", () => {
    it("the controller grants a practitioner permit: event with terms, sequential id, stored terms", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const id = offChainId(w.subject, 1);
      expect(await w.consents.connect(w.patient).grant.staticCall(w.subject, t)).to.equal(id);
      await expect(w.consents.connect(w.patient).grant(w.subject, t))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, id, w.doctor.address, tuple(t), w.patient.address, false);
      expect(await w.consents.consentCount(w.subject)).to.equal(1n);
      await expectStored(w, id, t);
    });

    it("ids follow consentIdAt(subject, 1..n) and counters are per subject", async () => {
      const w = await networkHelpers.loadFixture(world);
      const ids: string[] = [];
      for (let n = 1; n <= 3; n++) ids.push(await grantAs(w, w.patient, doctorPermit(w, { categories: 1 << n })));
      expect(ids).to.deep.equal([1, 2, 3].map((n) => offChainId(w.subject, n)));
      expect(new Set(ids).size).to.equal(3);
      expect(await w.consents.consentCount(w.subject)).to.equal(3n);
      for (const [i, id] of ids.entries()) await expectStored(w, id, doctorPermit(w, { categories: 1 << (i + 1) }));

      // Another subject starts at sequence 1 with its own id space.
      const other = await registerSubject(w, w.stranger);
      const otherId = await grantAs(w, w.stranger, doctorPermit(w), other);
      expect(otherId).to.equal(offChainId(other, 1));
      expect(await w.consents.consentCount(other)).to.equal(1n);
      expect(await w.consents.consentCount(w.subject)).to.equal(3n);
      // Ids are scoped to their subject.
      await expect(w.consents.getConsent(w.subject, otherId))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, otherId);
    });

    it("an org+role permit with a validity window round-trips through getConsent", async () => {
      const w = await networkHelpers.loadFixture(world);
      const now = await w.now();
      const t = terms({
        granteeKind: GranteeKind.ORG_ROLE,
        granteeOrg: w.lab,
        granteeRoles: Role.CLINICIAN | Role.RESEARCHER,
        categories: ALL_CATEGORIES,
        purposes: ALL_PURPOSES,
        actions: Action.READ | Action.APPEND,
        validFrom: now + DAY,
        validUntil: now + 30 * DAY,
      });
      const id = offChainId(w.subject, 1);
      await expect(w.consents.connect(w.patient).grant(w.subject, t))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, id, ethers.ZeroAddress, tuple(t), w.patient.address, false);
      await expectStored(w, id, t);
    });

    it("a guardian with GRANT grants a permit (by = guardian)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      await expect(w.consents.connect(w.guardian).grant(w.subject, t))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(t), w.guardian.address, false);
    });

    it("a guardian with only REVOKE cannot grant a permit but can record a deny", async () => {
      const w = await networkHelpers.loadFixture(world);
      const revoker = extra(w, 0);
      await appoint(w, revoker, Power.REVOKE);
      await expect(w.consents.connect(revoker).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, revoker.address, POWER_GRANT);
      const d = deny({ granteeAccount: w.doctor.address });
      await expect(w.consents.connect(revoker).grant(w.subject, d))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(d), revoker.address, false);
    });

    it("a guardian with only GRANT cannot record a deny", async () => {
      const w = await networkHelpers.loadFixture(world);
      const granter = extra(w, 1);
      await appoint(w, granter, Power.GRANT);
      await expect(w.consents.connect(granter).grant(w.subject, deny({ granteeAccount: w.doctor.address })))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, granter.address, POWER_REVOKE);
      await grantAs(w, granter, doctorPermit(w));
    });

    it("a guardian whose guardianship expired or who holds only other powers is refused", async () => {
      const w = await networkHelpers.loadFixture(world);
      const temp = extra(w, 0);
      const accessOnly = extra(w, 1);
      await appoint(w, temp, Power.GRANT | Power.REVOKE, (await w.now()) + DAY);
      await appoint(w, accessOnly, Power.ACCESS | Power.ERASE | Power.RECOVER);
      await grantAs(w, temp, doctorPermit(w));
      await expect(w.consents.connect(accessOnly).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, accessOnly.address, POWER_GRANT);
      await time.increase(DAY + 1);
      await expect(w.consents.connect(temp).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, temp.address, POWER_GRANT);
    });

    it("a stranger cannot grant a permit (power GRANT) nor a deny (power REVOKE)", async () => {
      const w = await networkHelpers.loadFixture(world);
      await expect(w.consents.connect(w.stranger).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_GRANT);
      await expect(w.consents.connect(w.stranger).grant(w.subject, deny({ granteeAccount: w.doctor.address })))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_REVOKE);
      // Nor can the grantee consent for itself.
      await expect(w.consents.connect(w.doctor).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.doctor.address, POWER_GRANT);
      expect(await w.consents.consentCount(w.subject)).to.equal(0n);
    });

    it("nobody can grant for an unregistered subject", async () => {
      const w = await networkHelpers.loadFixture(world);
      const unknown = randomId();
      await expect(w.consents.connect(w.patient).grant(unknown, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(unknown, w.patient.address, POWER_GRANT);
      await expect(w.consents.connect(w.patient).grant(ZERO_ID, deny({ granteeAccount: w.doctor.address })))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(ZERO_ID, w.patient.address, POWER_REVOKE);
    });

    describe("ConsentInvalidTerms", () => {
      const cases: [string, (w: World) => Partial<ConsentTermsStruct>, string][] = [
        ["practitioner without account", () => ({ granteeAccount: ethers.ZeroAddress }), "granteeAccount"],
        [
          "practitioner with an org",
          (w) => ({ granteeAccount: w.doctor.address, granteeOrg: w.hospital }),
          "granteeOrg/granteeRoles",
        ],
        [
          "practitioner with roles",
          (w) => ({ granteeAccount: w.doctor.address, granteeRoles: Role.CLINICIAN }),
          "granteeOrg/granteeRoles",
        ],
        [
          "org+role with an account",
          (w) => ({
            granteeKind: GranteeKind.ORG_ROLE,
            granteeAccount: w.doctor.address,
            granteeRoles: Role.CLINICIAN,
          }),
          "granteeAccount",
        ],
        [
          "org+role without roles",
          () => ({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: 1, granteeRoles: 0 }),
          "granteeRoles",
        ],
        [
          "org+role with an unknown role bit",
          () => ({ granteeKind: GranteeKind.ORG_ROLE, granteeRoles: 64 }),
          "granteeRoles",
        ],
        ["no categories", (w) => ({ granteeAccount: w.doctor.address, categories: 0 }), "categories"],
        ["no actions", (w) => ({ granteeAccount: w.doctor.address, actions: 0 }), "actions"],
        ["an unknown action bit", (w) => ({ granteeAccount: w.doctor.address, actions: 4 }), "actions"],
        ["a permit without purposes", (w) => ({ granteeAccount: w.doctor.address, purposes: 0 }), "purposes"],
        [
          "a permit with a purpose beyond the 10 codes",
          (w) => ({ granteeAccount: w.doctor.address, purposes: 1024 }),
          "purposes",
        ],
        [
          "a deny with a purpose beyond the 10 codes",
          (w) => ({ effect: Effect.DENY, granteeAccount: w.doctor.address, purposes: ALL_PURPOSES | 1024 }),
          "purposes",
        ],
        [
          "validUntil == validFrom",
          (w) => ({ granteeAccount: w.doctor.address, validFrom: 4e9, validUntil: 4e9 }),
          "validUntil",
        ],
        [
          "validUntil < validFrom",
          (w) => ({ granteeAccount: w.doctor.address, validFrom: 4e9, validUntil: 4e9 - 1 }),
          "validUntil",
        ],
        ["validUntil in the past", (w) => ({ granteeAccount: w.doctor.address, validUntil: 1 }), "validUntil"],
        [
          "a deny without purposes (every purpose is the full mask)",
          (w) => ({ effect: Effect.DENY, granteeAccount: w.doctor.address, purposes: 0 }),
          "purposes",
        ],
        ["a zero sealed-terms commitment", (w) => ({ granteeAccount: w.doctor.address, sealedTerms: ZERO_ID }), "sealedTerms"],
        [
          "validFrom beyond the stored range (uint40)",
          (w) => ({ granteeAccount: w.doctor.address, validFrom: 2n ** 40n }),
          "validFrom",
        ],
        [
          "validUntil beyond the stored range (uint40)",
          (w) => ({ granteeAccount: w.doctor.address, validUntil: 2n ** 40n }),
          "validUntil",
        ],
      ];
      for (const [name, overrides, field] of cases) {
        it(`${name} → ConsentInvalidTerms("${field}")`, async () => {
          const w = await networkHelpers.loadFixture(world);
          await expect(w.consents.connect(w.patient).grant(w.subject, terms(overrides(w))))
            .to.be.revertedWithCustomError(w.consents, "ConsentInvalidTerms")
            .withArgs(field);
        });
      }

      it("the boundaries just inside are accepted (roles 63, actions 3, purposes 1023, category bit 15, times 2^40 - 1)", async () => {
        const w = await networkHelpers.loadFixture(world);
        const t = terms({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeRoles: 63,
          actions: 3,
          purposes: ALL_PURPOSES,
          categories: 0x8000,
          validFrom: 2n ** 40n - 2n,
          validUntil: 2n ** 40n - 1n,
        });
        const id = await grantAs(w, w.patient, t);
        await expectStored(w, id, t);
      });

      it("a category mask beyond 16 bits does not fit the ABI type (uint16)", async () => {
        const w = await networkHelpers.loadFixture(world);
        await expect(w.consents.connect(w.patient).grant(w.subject, doctorPermit(w, { categories: 0x10000 }))).to.be
          .rejected;
      });

      it("a deny may have no public category (a sealed-only deny: it binds nothing on chain); a permit may not", async () => {
        const w = await networkHelpers.loadFixture(world);
        const permit = await grantAs(w, w.patient, doctorPermit(w));
        const d = deny({ granteeAccount: w.doctor.address, categories: 0, purposes: ALL_PURPOSES });
        const id = await grantAs(w, w.patient, d);
        await expectStored(w, id, d);
        expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, permit)).to.deep.equal(
          allowedBy(permit, w.hospital),
        );
        await expect(w.consents.connect(w.patient).grant(w.subject, doctorPermit(w, { categories: 0 })))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidTerms")
          .withArgs("categories");
      });

      it("a practitioner grantee must be enrolled, an organization grantee admitted (0: any organization)", async () => {
        const w = await networkHelpers.loadFixture(world);
        await expect(w.consents.connect(w.patient).grant(w.subject, terms({ granteeAccount: w.stranger.address })))
          .to.be.revertedWithCustomError(w.consents, "ConsentUnknownPractitioner")
          .withArgs(w.stranger.address);
        for (const org of [4, 2 ** 32 - 1]) {
          await expect(
            w.consents
              .connect(w.patient)
              .grant(w.subject, terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: org, granteeRoles: Role.CLINICIAN })),
          )
            .to.be.revertedWithCustomError(w.consents, "ConsentUnknownOrganization")
            .withArgs(org);
        }
        for (const org of [0, w.lab]) {
          await grantAs(w, w.patient, terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: org, granteeRoles: Role.CLINICIAN }));
        }
      });

      it("validUntil must be after the block's timestamp: == now is refused, now + 1 accepted", async () => {
        const w = await networkHelpers.loadFixture(world);
        const ts = (await w.now()) + 100;
        await time.setNextBlockTimestamp(ts);
        await expect(w.consents.connect(w.patient).grant(w.subject, doctorPermit(w, { validUntil: ts })))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidTerms")
          .withArgs("validUntil");
        const ts2 = (await w.now()) + 100;
        await time.setNextBlockTimestamp(ts2);
        await (await w.consents.connect(w.patient).grant(w.subject, doctorPermit(w, { validUntil: ts2 + 1 }))).wait();
        // Past validFrom is fine (it only bounds the start).
        await grantAs(w, w.patient, doctorPermit(w, { validFrom: 1, validUntil: ts2 + DAY }));
        expect(await w.consents.consentCount(w.subject)).to.equal(2n);
      });
    });

    it("a deny for every purpose is the full mask: emitted and stored as granted, and it blocks every purpose", async () => {
      const w = await networkHelpers.loadFixture(world);
      const permit = await grantAs(w, w.patient, doctorPermit(w, { purposes: ALL_PURPOSES }));
      const d = deny({ granteeAccount: w.doctor.address, purposes: ALL_PURPOSES });
      const id = offChainId(w.subject, 2);
      await expect(w.consents.connect(w.patient).grant(w.subject, d))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, id, w.doctor.address, tuple(d), w.patient.address, false);
      await expectStored(w, id, d);
      for (const p of [Purpose.TREAT, Purpose.HPAYMT, Purpose.BTG]) {
        expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, p, Action.READ, permit)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", id, w.hospital),
        );
      }
    });
  });

  // ───────────────────────────── the index ─────────────────────────────

  describe("the index of active consents", () => {
    const listed = (w: World, effect: number, kind: number, grantee: number | bigint) =>
      w.consents.listedConsents(w.subject, effect, kind, grantee);
    const doctorId = async (w: World) => w.directory.practitionerIdOf(w.doctor.address);

    it("lists each consent under its (effect, grantee): practitioner id, organization id, or 0 for any organization", async () => {
      const w = await networkHelpers.loadFixture(world);
      const p1 = await grantAs(w, w.patient, doctorPermit(w));
      const d1 = await grantAs(w, w.patient, deny({ granteeAccount: w.doctor.address, purposes: ALL_PURPOSES }));
      const orgRole = (org: number) => terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: org, granteeRoles: Role.CLINICIAN });
      const p2 = await grantAs(w, w.patient, orgRole(w.lab));
      const p3 = await grantAs(w, w.patient, orgRole(0));
      expect(await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, await doctorId(w))).to.deep.equal([p1]);
      expect(await listed(w, Effect.DENY, GranteeKind.PRACTITIONER, await doctorId(w))).to.deep.equal([d1]);
      expect(await listed(w, Effect.PERMIT, GranteeKind.ORG_ROLE, w.lab)).to.deep.equal([p2]);
      expect(await listed(w, Effect.PERMIT, GranteeKind.ORG_ROLE, 0)).to.deep.equal([p3]);
      expect(await listed(w, Effect.DENY, GranteeKind.ORG_ROLE, 0)).to.deep.equal([]);
    });

    it("a revoked consent leaves its list at once (swap-and-pop keeps the others)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await grantAs(w, w.patient, doctorPermit(w, { categories: 1 << i })));
      await (await w.consents.connect(w.patient).revoke(w.subject, ids[1]!)).wait();
      expect(await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, await doctorId(w))).to.deep.equal([
        ids[0],
        ids[3],
        ids[2],
      ]);
      for (const id of [ids[0]!, ids[3]!, ids[2]!]) await (await w.consents.connect(w.patient).revoke(w.subject, id)).wait();
      expect(await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, await doctorId(w))).to.deep.equal([]);
    });

    it("a full list refuses a ninth consent (ConsentIndexFull); expired entries then give their places up", async () => {
      const w = await networkHelpers.loadFixture(world);
      const now = await w.now();
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        ids.push(await grantAs(w, w.patient, doctorPermit(w, { validUntil: i < 3 ? now + DAY : 0 })));
      }
      const pid = await doctorId(w);
      await expect(w.consents.connect(w.patient).grant(w.subject, doctorPermit(w)))
        .to.be.revertedWithCustomError(w.consents, "ConsentIndexFull")
        .withArgs(w.subject, Effect.PERMIT, GranteeKind.PRACTITIONER, pid, 8);
      // Other grantees' lists are unaffected.
      await grantAs(w, w.patient, terms({ granteeAccount: w.labTech.address }));
      await time.increase(DAY + 1);
      const fresh = await grantAs(w, w.patient, doctorPermit(w));
      const after = await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, pid);
      expect(after).to.have.length(6);
      expect(after).to.include(fresh);
      for (const expired of ids.slice(0, 3)) expect(after).to.not.include(expired);
      // An expired, pruned consent can still be revoked (nothing to unlist).
      await expect(w.consents.connect(w.patient).revoke(w.subject, ids[0]!)).to.emit(w.consents, "ConsentRevoked");
      expect(await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, pid)).to.have.length(6);
    });

    it("an already-expired consent is never listed; a not-yet-valid one is", async () => {
      const w = await networkHelpers.loadFixture(world);
      const now = await w.now();
      const later = await grantAs(w, w.patient, doctorPermit(w, { validFrom: now + DAY, validUntil: now + 2 * DAY }));
      expect(await listed(w, Effect.PERMIT, GranteeKind.PRACTITIONER, await doctorId(w))).to.deep.equal([later]);
    });

    it("guardians hold at most GUARDIAN_PLACES of a list together; their expired or revoked entries free guardian places", async () => {
      const w = await networkHelpers.loadFixture(world);
      const second = w.signers[13]!;
      await (await w.directory.connect(w.patient).setGuardian(w.subject, second.address, Power.REVOKE, 0)).wait();
      const now = await w.now();
      const d = (o: Partial<ConsentTermsStruct> = {}) =>
        deny({ granteeAccount: w.doctor.address, purposes: ALL_PURPOSES, ...o });
      const g1 = await grantAs(w, w.guardian, d({ validUntil: now + DAY }));
      await grantAs(w, w.guardian, d());
      await grantAs(w, second, d());
      const g4 = await grantAs(w, second, d());
      // The quota is shared by the subject's guardians.
      await expect(w.consents.connect(w.guardian).grant(w.subject, d()))
        .to.be.revertedWithCustomError(w.consents, "ConsentGuardianQuotaExceeded")
        .withArgs(w.subject, w.guardian.address, 4);
      // Another list has its own guardian places.
      await grantAs(w, w.guardian, deny({ granteeAccount: w.labTech.address, purposes: ALL_PURPOSES }));
      // The controller fills the rest.
      for (let i = 0; i < 4; i++) await grantAs(w, w.patient, d());
      await expect(w.consents.connect(w.patient).grant(w.subject, d()))
        .to.be.revertedWithCustomError(w.consents, "ConsentIndexFull")
        .withArgs(w.subject, Effect.DENY, GranteeKind.PRACTITIONER, await doctorId(w), 8);
      // Lifting a guardian's deny (a GRANT power) frees a guardian place.
      await (await w.consents.connect(w.patient).revoke(w.subject, g4)).wait();
      await grantAs(w, second, d());
      // An expired guardian deny gives its place up when a guardian needs one.
      await time.increase(DAY + 1);
      const g5 = await grantAs(w, w.guardian, d());
      const now2 = await listed(w, Effect.DENY, GranteeKind.PRACTITIONER, await doctorId(w));
      expect(now2).to.include(g5);
      expect(now2).to.not.include(g1);
    });

    it("consents a guardian signs count as a guardian's; the controller's signatures as the controller's", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = deny({ granteeAccount: w.doctor.address, purposes: ALL_PURPOSES });
      const byGuardian = await grantAs(w, w.guardian, t);
      const byPatient = await grantAs(w, w.patient, t);
      expect((await w.consents.getConsent(w.subject, byGuardian)).byGuardian).to.equal(true);
      expect((await w.consents.getConsent(w.subject, byPatient)).byGuardian).to.equal(false);
      const { signature, deadline } = await signGrant(w, w.guardian, t);
      await (await w.consents.connect(w.relayer).grantBySig(w.subject, t, w.guardian.address, deadline, signature)).wait();
      expect((await w.consents.getConsent(w.subject, offChainId(w.subject, 3))).byGuardian).to.equal(true);
    });

    it("getConsent returns the sequence and the current account of a practitioner grantee", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const s = await w.consents.getConsent(w.subject, id);
      expect([s.sequence, s.granteeAccount, s.granteeOrg, s.revokedAt]).to.deep.equal([1n, w.doctor.address, 0n, 0n]);
    });
  });

  // ───────────────────────────── revoke ─────────────────────────────

  describe("revoke", () => {
    it("the controller revokes a permit: event, revokedAt kept, terms kept, nothing deleted, check refuses", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const id = await grantAs(w, w.patient, t);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
      const ts = (await w.now()) + 60;
      await time.setNextBlockTimestamp(ts);
      await expect(w.consents.connect(w.patient).revoke(w.subject, id))
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, id, w.patient.address, ts, false);
      await expectStored(w, id, t, ts);
      expect(await w.consents.consentCount(w.subject)).to.equal(1n);
      // Revoked, it has left the index: the scan no longer sees it; the hint explains.
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("CONSENT_REVOKED", id, w.hospital),
      );
    });

    it("a guardian with REVOKE (only) revokes a permit; a guardian with only GRANT cannot", async () => {
      const w = await networkHelpers.loadFixture(world);
      const revoker = extra(w, 0);
      const granter = extra(w, 1);
      await appoint(w, revoker, Power.REVOKE);
      await appoint(w, granter, Power.GRANT);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      await expect(w.consents.connect(granter).revoke(w.subject, id))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, granter.address, POWER_REVOKE);
      const ts = (await w.now()) + 10;
      await time.setNextBlockTimestamp(ts);
      await expect(w.consents.connect(revoker).revoke(w.subject, id))
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, id, revoker.address, ts, false);
    });

    it("a deny can only be lifted with the GRANT power (REVOKE-only guardian refused; GRANT guardian and controller succeed)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const revoker = extra(w, 0);
      const granter = extra(w, 1);
      await appoint(w, revoker, Power.REVOKE);
      await appoint(w, granter, Power.GRANT);
      const d1 = await grantAs(w, revoker, deny({ granteeAccount: w.doctor.address }));
      const d2 = await grantAs(w, w.patient, deny({ granteeAccount: w.payerAgent.address }));
      await expect(w.consents.connect(revoker).revoke(w.subject, d1))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, revoker.address, POWER_GRANT);
      await expect(w.consents.connect(w.stranger).revoke(w.subject, d1))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_GRANT);
      const ts = (await w.now()) + 10;
      await time.setNextBlockTimestamp(ts);
      await expect(w.consents.connect(granter).revoke(w.subject, d1))
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, d1, granter.address, ts, false);
      await expect(w.consents.connect(w.patient).revoke(w.subject, d2)).to.emit(w.consents, "ConsentRevoked");
    });

    it("a revoked deny stops applying (and its revokedAt is kept)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const permit = await grantAs(w, w.patient, doctorPermit(w));
      const d = deny({ granteeAccount: w.doctor.address, categories: categoryMask(["OBSERVATIONS"]) });
      const denyId = await grantAs(w, w.patient, d);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("DENIED_BY_SUBJECT", denyId, w.hospital),
      );
      const ts = (await w.now()) + 10;
      await time.setNextBlockTimestamp(ts);
      await (await w.consents.connect(w.patient).revoke(w.subject, denyId)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(permit, w.hospital),
      );
      await expectStored(w, denyId, d, ts);
    });

    it("lifting one deny (first, middle or last) leaves the others applying", async () => {
      const w = await networkHelpers.loadFixture(world);
      await grantAs(w, w.patient, doctorPermit(w, { categories: ALL_CATEGORIES }));
      const denyIds: string[] = [];
      for (let c = 0; c < 5; c++) {
        denyIds.push(await grantAs(w, w.patient, deny({ granteeAccount: w.doctor.address, categories: 1 << c })));
      }
      const lifted = new Set<number>();
      for (const c of [2, 0, 4]) {
        await (await w.consents.connect(w.patient).revoke(w.subject, denyIds[c]!)).wait();
        lifted.add(c);
        for (let k = 0; k < 5; k++) {
          const d = await check(w, w.doctor, k, Purpose.TREAT, Action.READ);
          if (lifted.has(k)) expect(d.allowed, `category ${k}`).to.equal(true);
          else expect(d, `category ${k}`).to.deep.equal(refused("DENIED_BY_SUBJECT", denyIds[k]!, w.hospital));
        }
      }
    });

    it("revoking twice → ConsentAlreadyRevoked(id, revokedAt)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const permit = await grantAs(w, w.patient, doctorPermit(w));
      const denyId = await grantAs(w, w.patient, deny({ granteeAccount: w.payerAgent.address }));
      const ts = (await w.now()) + 10;
      await time.setNextBlockTimestamp(ts);
      await (await w.consents.connect(w.patient).revoke(w.subject, permit)).wait();
      await (await w.consents.connect(w.patient).revoke(w.subject, denyId)).wait();
      await time.increase(100);
      await expect(w.consents.connect(w.patient).revoke(w.subject, permit))
        .to.be.revertedWithCustomError(w.consents, "ConsentAlreadyRevoked")
        .withArgs(permit, ts);
      await expect(w.consents.connect(w.guardian).revoke(w.subject, denyId))
        .to.be.revertedWithCustomError(w.consents, "ConsentAlreadyRevoked")
        .withArgs(denyId, ts + 1);
      await expectStored(w, permit, doctorPermit(w), ts);
    });

    it("an unknown id (or another subject's id) → ConsentUnknown(subject, id)", async () => {
      const w = await networkHelpers.loadFixture(world);
      await grantAs(w, w.patient, doctorPermit(w));
      const unknown = offChainId(w.subject, 2);
      await expect(w.consents.connect(w.patient).revoke(w.subject, unknown))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, unknown);
      await expect(w.consents.connect(w.patient).revoke(w.subject, ZERO_ID))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, ZERO_ID);
      const other = await registerSubject(w, w.stranger);
      const otherId = await grantAs(w, w.stranger, doctorPermit(w), other);
      await expect(w.consents.connect(w.patient).revoke(w.subject, otherId))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, otherId);
    });

    it("a stranger (or the grantee) cannot revoke a permit", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      await expect(w.consents.connect(w.stranger).revoke(w.subject, id))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_REVOKE);
      await expect(w.consents.connect(w.doctor).revoke(w.subject, id))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.doctor.address, POWER_REVOKE);
      await expectStored(w, id, doctorPermit(w), 0);
    });
  });

  // ───────────────────────────── signatures ─────────────────────────────

  describe("grantBySig", () => {
    it("the typed data names its signer: a signature over another signer field is refused", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      for (const signerField of [w.guardian.address, w.relayer.address, ethers.ZeroAddress]) {
        const { signature, deadline } = await signGrant(w, w.patient, t, { signerField });
        await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
          .withArgs(w.patient.address);
      }
    });

    it("the sealed-terms commitment is covered by the signature", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const { signature, deadline } = await signGrant(w, w.patient, t);
      const swapped = { ...t, sealedTerms: commitment() };
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, swapped, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(t), w.patient.address, true);
    });

    it("a relayer submits the patient's signed grant: by = patient, bySignature = true, nonce increments", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const { signature, deadline } = await signGrant(w, w.patient, t);
      const id = offChainId(w.subject, 1);
      expect(
        await w.consents.connect(w.relayer).grantBySig.staticCall(w.subject, t, w.patient.address, deadline, signature),
      ).to.equal(id);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, id, w.doctor.address, tuple(t), w.patient.address, true);
      expect(await w.consents.nonces(w.patient.address)).to.equal(1n);
      expect(await w.consents.nonces(w.relayer.address)).to.equal(0n);
      await expectStored(w, id, t);
      expect((await check(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).allowed).to.equal(true);

      // The next signature uses nonce 1.
      const t2 = doctorPermit(w, { categories: categoryMask(["IMAGING"]) });
      const s2 = await signGrant(w, w.patient, t2);
      expect(s2.nonce).to.equal(1n);
      await expect(
        w.consents.connect(w.stranger).grantBySig(w.subject, t2, w.patient.address, s2.deadline, s2.signature),
      )
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 2), w.doctor.address, tuple(t2), w.patient.address, true);
      expect(await w.consents.nonces(w.patient.address)).to.equal(2n);
    });

    it("a guardian with GRANT signs a permit; a REVOKE guardian signs a deny", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const s = await signGrant(w, w.guardian, t);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.guardian.address, s.deadline, s.signature))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(t), w.guardian.address, true);
      expect(await w.consents.nonces(w.guardian.address)).to.equal(1n);

      const revoker = extra(w, 0);
      await appoint(w, revoker, Power.REVOKE);
      const d = deny({ granteeAccount: w.payerAgent.address });
      const s2 = await signGrant(w, revoker, d);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, d, revoker.address, s2.deadline, s2.signature))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 2), w.payerAgent.address, tuple(d), revoker.address, true);
    });

    it("replaying the same signature (same nonce) → ConsentInvalidSignature(signer)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const { signature, deadline } = await signGrant(w, w.patient, t);
      await (
        await w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature)
      ).wait();
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      await expect(w.consents.connect(w.patient).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      expect(await w.consents.consentCount(w.subject)).to.equal(1n);
      expect(await w.consents.nonces(w.patient.address)).to.equal(1n);
    });

    it("a signature for a future nonce is invalid now", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const { signature, deadline } = await signGrant(w, w.patient, t, { nonce: 1 });
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      expect(await w.consents.nonces(w.patient.address)).to.equal(0n);
    });

    it("a wrong chain id, verifying contract, name or version in the domain → ConsentInvalidSignature", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const good = await consentDomain(w);
      const domains: TypedDataDomain[] = [
        { ...good, chainId: 1n },
        { ...good, chainId: BigInt(good.chainId!) + 1n },
        { ...good, verifyingContract: await w.directory.getAddress() },
        { ...good, verifyingContract: await w.records.getAddress() },
        { ...good, name: "MedLedger RecordRegistry" },
        { ...good, version: "1" },
        { ...good, version: "1.1.0" },
      ];
      for (const domain of domains) {
        const { signature, deadline } = await signGrant(w, w.patient, t, { domain });
        await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
          .withArgs(w.patient.address);
      }
      // The right domain works with the very same nonce.
      const { signature, deadline } = await signGrant(w, w.patient, t);
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature),
      ).to.emit(w.consents, "ConsentGranted");
    });

    it("an expired deadline → ConsentSignatureExpired(deadline, now); the deadline second itself is accepted", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const deadline = (await w.now()) + 3600;
      const { signature } = await signGrant(w, w.patient, t, { deadline });
      await time.increaseTo(deadline + 5);
      const txTime = deadline + 10;
      await time.setNextBlockTimestamp(txTime);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentSignatureExpired")
        .withArgs(deadline, txTime);
      expect(await w.consents.nonces(w.patient.address)).to.equal(0n);

      const deadline2 = (await w.now()) + 3600;
      const s2 = await signGrant(w, w.patient, t, { deadline: deadline2 });
      await time.setNextBlockTimestamp(deadline2);
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline2, s2.signature),
      ).to.emit(w.consents, "ConsentGranted");
    });

    it("a stranger signing for itself → ConsentUnauthorized(subject, stranger, power)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const s = await signGrant(w, w.stranger, t);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.stranger.address, s.deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_GRANT);
      const d = deny({ granteeAccount: w.doctor.address });
      const s2 = await signGrant(w, w.stranger, d);
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, d, w.stranger.address, s2.deadline, s2.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_REVOKE);
    });

    it("someone else's signature claiming signer = patient → ConsentInvalidSignature(patient)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      // The stranger signs exactly what the patient would sign (nonce 0), but is not the patient.
      const s = await signGrant(w, w.stranger, t, { nonce: 0 });
      await expect(w.consents.connect(w.stranger).grantBySig(w.subject, t, w.patient.address, s.deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      // Even a guardian's genuine signature cannot be passed off as the patient's.
      const g = await signGrant(w, w.guardian, t, { nonce: 0 });
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, g.deadline, g.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      // Malformed signatures are rejected the same way (no ECDSA revert leaks).
      for (const bad of ["0x", "0x" + "00".repeat(65), s.signature.slice(0, -2)]) {
        await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, s.deadline, bad))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
          .withArgs(w.patient.address);
      }
      expect(await w.consents.consentCount(w.subject)).to.equal(0n);
    });

    it("a guardian outside its powers: a REVOKE-only guardian's signed permit → ConsentUnauthorized(..., POWER_GRANT)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const revoker = extra(w, 0);
      await appoint(w, revoker, Power.REVOKE);
      const t = doctorPermit(w);
      const s = await signGrant(w, revoker, t);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, revoker.address, s.deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, revoker.address, POWER_GRANT);
      expect(await w.consents.nonces(revoker.address)).to.equal(0n);
    });

    it("after key rotation the old controller's signatures (fresh or pre-signed) are refused; the new controller's work", async () => {
      const w = await networkHelpers.loadFixture(world);
      const newController = extra(w, 2);
      const t = doctorPermit(w);
      const d = deny({ granteeAccount: w.payerAgent.address });
      // Signed by the old key before rotation, relayed after.
      const preSigned = await signGrant(w, w.patient, t);
      await (await w.directory.connect(w.patient).rotateController(w.subject, newController.address)).wait();
      expect(await w.directory.controllerOf(w.subject)).to.equal(newController.address);

      await expect(
        w.consents
          .connect(w.relayer)
          .grantBySig(w.subject, t, w.patient.address, preSigned.deadline, preSigned.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.patient.address, POWER_GRANT);
      const fresh = await signGrant(w, w.patient, d);
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, d, w.patient.address, fresh.deadline, fresh.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.patient.address, POWER_REVOKE);
      await expect(w.consents.connect(w.patient).grant(w.subject, t))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.patient.address, POWER_GRANT);

      const s = await signGrant(w, newController, t);
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, t, newController.address, s.deadline, s.signature),
      )
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(t), newController.address, true);
    });

    it("tampering with the terms, subject, deadline or signer after signing → ConsentInvalidSignature", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const { signature, deadline } = await signGrant(w, w.patient, t);
      const tampered: ConsentTermsStruct[] = [
        { ...t, granteeAccount: w.payerAgent.address },
        { ...t, categories: ALL_CATEGORIES },
        { ...t, purposes: ALL_PURPOSES },
        { ...t, actions: Action.READ | Action.APPEND },
        { ...t, validUntil: (await w.now()) + 10 * DAY },
        { ...t, validFrom: 1 },
      ];
      for (const bad of tampered) {
        await expect(w.consents.connect(w.relayer).grantBySig(w.subject, bad, w.patient.address, deadline, signature))
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
          .withArgs(w.patient.address);
      }
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline + 1, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.guardian.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.guardian.address);
      // Another subject the patient also controls.
      const other = await registerSubject(w, w.patient);
      await expect(w.consents.connect(w.relayer).grantBySig(other, t, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      // A Revoke signature is not a Grant signature.
      const r = await signRevoke(w, w.patient, offChainId(w.subject, 1));
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, r.deadline, r.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      // The untouched request still goes through.
      await expect(
        w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature),
      ).to.emit(w.consents, "ConsentGranted");
    });

    it("validly signed but malformed terms → ConsentInvalidTerms; unregistered subject → ConsentUnauthorized", async () => {
      const w = await networkHelpers.loadFixture(world);
      const bad = doctorPermit(w, { categories: 0 });
      const s = await signGrant(w, w.patient, bad);
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, bad, w.patient.address, s.deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidTerms")
        .withArgs("categories");
      const unknown = randomId();
      const t = doctorPermit(w);
      const s2 = await signGrant(w, w.patient, t, { subject: unknown });
      await expect(w.consents.connect(w.relayer).grantBySig(unknown, t, w.patient.address, s2.deadline, s2.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(unknown, w.patient.address, POWER_GRANT);
    });

    it("ERC-1271: a contract controller's approval is honoured; a contract that does not approve is refused", async () => {
      const w = await networkHelpers.loadFixture(world);
      const accepting = await deploy1271(w, ACCEPTING_1271_INITCODE);
      const rejecting = await deploy1271(w, REJECTING_1271_INITCODE);
      const t = doctorPermit(w);
      const deadline = await deadlineIn(w);
      // A contract that is not the controller, even if it approves, is unauthorized.
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, accepting, deadline, "0x"))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, accepting, POWER_GRANT);
      // Contracts that do not return the magic value (or implement nothing) are invalid signers.
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, rejecting, deadline, "0x"))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(rejecting);
      const dir = await w.directory.getAddress();
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, dir, deadline, "0x"))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(dir);
      // A smart-wallet controller approves through ERC-1271.
      await (await w.directory.connect(w.patient).rotateController(w.subject, accepting)).wait();
      await expect(w.consents.connect(w.relayer).grantBySig(w.subject, t, accepting, deadline, "0x"))
        .to.emit(w.consents, "ConsentGranted")
        .withArgs(w.subject, offChainId(w.subject, 1), w.doctor.address, tuple(t), accepting, true);
      expect(await w.consents.nonces(accepting)).to.equal(1n);
    });
  });

  describe("revokeBySig", () => {
    it("the typed data names its signer: a revocation signed over another signer field is refused", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const { signature, deadline } = await signRevoke(w, w.patient, id, { signerField: w.guardian.address });
      await expect(w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
    });

    it("a relayer submits the patient's signed revocation: by = patient, bySignature = true, nonce increments", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const id = await grantAs(w, w.patient, t);
      const { signature, deadline } = await signRevoke(w, w.patient, id);
      const ts = (await w.now()) + 30;
      await time.setNextBlockTimestamp(ts);
      await expect(w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, deadline, signature))
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, id, w.patient.address, ts, true);
      expect(await w.consents.nonces(w.patient.address)).to.equal(1n);
      await expectStored(w, id, t, ts);
      // Replay: the nonce moved on, so the signature no longer verifies (before any "already revoked").
      await expect(w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, deadline, signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      // A fresh signature for an already revoked consent → ConsentAlreadyRevoked.
      const s2 = await signRevoke(w, w.patient, id);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, s2.deadline, s2.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentAlreadyRevoked")
        .withArgs(id, ts);
    });

    it("grant and revoke signatures share the signer's nonce sequence", async () => {
      const w = await networkHelpers.loadFixture(world);
      const t = doctorPermit(w);
      const g = await signGrant(w, w.patient, t);
      const id = offChainId(w.subject, 1);
      const r = await signRevoke(w, w.patient, id, { nonce: 1 });
      await (
        await w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, g.deadline, g.signature)
      ).wait();
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, r.deadline, r.signature),
      ).to.emit(w.consents, "ConsentRevoked");
      expect(await w.consents.nonces(w.patient.address)).to.equal(2n);
    });

    it("wrong chain id or verifying contract, tampered consent id, wrong claimed signer → ConsentInvalidSignature", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const id2 = await grantAs(w, w.patient, doctorPermit(w, { categories: 1 }));
      const good = await consentDomain(w);
      for (const domain of [
        { ...good, chainId: 1n },
        { ...good, verifyingContract: await w.records.getAddress() },
      ]) {
        const s = await signRevoke(w, w.patient, id, { domain });
        await expect(
          w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, s.deadline, s.signature),
        )
          .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
          .withArgs(w.patient.address);
      }
      const s = await signRevoke(w, w.patient, id);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, id2, w.patient.address, s.deadline, s.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      const forged = await signRevoke(w, w.stranger, id, { nonce: 0 });
      await expect(
        w.consents.connect(w.stranger).revokeBySig(w.subject, id, w.patient.address, forged.deadline, forged.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentInvalidSignature")
        .withArgs(w.patient.address);
      await expectStored(w, id, doctorPermit(w), 0);
    });

    it("an expired deadline → ConsentSignatureExpired(deadline, now)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const deadline = (await w.now()) + 60;
      const s = await signRevoke(w, w.patient, id, { deadline });
      const txTime = deadline + 1;
      await time.setNextBlockTimestamp(txTime);
      await expect(w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentSignatureExpired")
        .withArgs(deadline, txTime);
    });

    it("signers without the power: stranger (REVOKE), REVOKE-only guardian lifting a deny (GRANT), old controller", async () => {
      const w = await networkHelpers.loadFixture(world);
      const permit = await grantAs(w, w.patient, doctorPermit(w));
      const denyId = await grantAs(w, w.patient, deny({ granteeAccount: w.payerAgent.address }));
      const s = await signRevoke(w, w.stranger, permit);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, permit, w.stranger.address, s.deadline, s.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_REVOKE);

      const revoker = extra(w, 0);
      await appoint(w, revoker, Power.REVOKE);
      const s2 = await signRevoke(w, revoker, denyId);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, denyId, revoker.address, s2.deadline, s2.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, revoker.address, POWER_GRANT);
      // ... but it may revoke the permit by signature.
      const s3 = await signRevoke(w, revoker, permit);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, permit, revoker.address, s3.deadline, s3.signature),
      )
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, permit, revoker.address, (v: bigint) => v > 0n, true);

      // After rotation the old controller's pre-signed revocation is refused; the new one's works.
      const preSigned = await signRevoke(w, w.patient, denyId);
      const newController = extra(w, 2);
      await (await w.directory.connect(w.patient).rotateController(w.subject, newController.address)).wait();
      await expect(
        w.consents
          .connect(w.relayer)
          .revokeBySig(w.subject, denyId, w.patient.address, preSigned.deadline, preSigned.signature),
      )
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.patient.address, POWER_GRANT);
      const s4 = await signRevoke(w, newController, denyId);
      await expect(
        w.consents.connect(w.relayer).revokeBySig(w.subject, denyId, newController.address, s4.deadline, s4.signature),
      )
        .to.emit(w.consents, "ConsentRevoked")
        .withArgs(w.subject, denyId, newController.address, (v: bigint) => v > 0n, true);
    });

    it("a valid signature over an unknown consent → ConsentUnknown(subject, id)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = offChainId(w.subject, 7);
      const s = await signRevoke(w, w.patient, id);
      await expect(w.consents.connect(w.relayer).revokeBySig(w.subject, id, w.patient.address, s.deadline, s.signature))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnknown")
        .withArgs(w.subject, id);
    });
  });

  // ───────────────────────────── check ─────────────────────────────

  describe("findDeny (what break-glass honours)", () => {
    it("finds an active deny naming the accessor, its organization or its role, for the action, purpose and any category of the mask", async () => {
      const w = await networkHelpers.loadFixture(world);
      const find = (who: { address: string }, cats: number, purpose: number, action: number = Action.READ) =>
        w.consents.findDeny(who.address, w.subject, cats, purpose, action);
      expect(await find(w.responder, ALL_CATEGORIES, Purpose.ETREAT)).to.equal(ZERO_ID);
      const d = await grantAs(
        w,
        w.patient,
        deny({ granteeAccount: w.responder.address, categories: categoryMask(["IMAGING"]), purposes: purposeMask(["ETREAT"]) }),
      );
      expect(await find(w.responder, categoryMask(["IMAGING", "NOTES"]), Purpose.ETREAT)).to.equal(d);
      expect(await find(w.responder, categoryMask(["NOTES"]), Purpose.ETREAT)).to.equal(ZERO_ID);
      expect(await find(w.responder, categoryMask(["IMAGING"]), Purpose.BTG)).to.equal(ZERO_ID);
      expect(await find(w.responder, categoryMask(["IMAGING"]), Purpose.ETREAT, Action.APPEND)).to.equal(ZERO_ID);
      expect(await find(w.doctor, categoryMask(["IMAGING"]), Purpose.ETREAT)).to.equal(ZERO_ID);
      // Unknown accounts and invalid purposes: nothing can name them.
      expect(await find(w.stranger, ALL_CATEGORIES, Purpose.ETREAT)).to.equal(ZERO_ID);
      expect(await find(w.responder, ALL_CATEGORIES, 10)).to.equal(ZERO_ID);
      // Status is not consulted (the caller checks it): a suspended responder's deny is still found.
      await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(w.responder.address)).wait();
      expect(await find(w.responder, ALL_CATEGORIES, Purpose.ETREAT)).to.equal(d);
      await (await w.consents.connect(w.patient).revoke(w.subject, d)).wait();
      expect(await find(w.responder, ALL_CATEGORIES, Purpose.ETREAT)).to.equal(ZERO_ID);
      const anyOrg = await grantAs(
        w,
        w.patient,
        deny({ granteeKind: GranteeKind.ORG_ROLE, granteeRoles: Role.EMERGENCY_RESPONDER, purposes: ALL_PURPOSES }),
      );
      expect(await find(w.responder, ALL_CATEGORIES, Purpose.BTG)).to.equal(anyOrg);
      expect(await find(w.doctor, ALL_CATEGORIES, Purpose.BTG)).to.equal(ZERO_ID);
    });
  });

  describe("check / checkWithHint", () => {
    it("NONE: a practitioner permit allows, basis CONSENT, with the consent id and accessor org", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const ok = allowedBy(id, w.hospital);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(ok);
      expect(await checkBoth(w, w.doctor, Category.MEDICATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(ok);
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(ok);
    });

    it("NO_CONSENT: no consent at all, or only consents for other grantees (scan)", async () => {
      const w = await networkHelpers.loadFixture(world);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
      await grantAs(w, w.patient, terms({ granteeAccount: w.labTech.address }));
      await grantAs(w, w.patient, terms({ granteeKind: GranteeKind.ORG_ROLE, granteeRoles: Role.PAYER }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
      // A deny is never a consent: one naming the doctor but not covering the request leaves NO_CONSENT.
      await grantAs(w, w.patient, deny({ granteeAccount: w.doctor.address, categories: categoryMask(["DIAGNOSTIC_REPORTS"]) }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
      expect(await checkBoth(w, w.payerAgent, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(offChainId(w.subject, 2), w.payer),
      );
    });

    it("GRANTEE_MISMATCH: a hint for another grantee's consent", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      expect(await checkHint(w, w.payerAgent, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.payer),
      );
      expect(await checkHint(w, w.labTech, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.lab),
      );
    });

    it("org+role grantee with granteeOrg 0 covers that role at any organization, and no other role", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(
        w,
        w.patient,
        terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: 0, granteeRoles: Role.CLINICIAN }),
      );
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
      expect(await checkBoth(w, w.labTech, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.lab),
      );
      expect(await checkBoth(w, w.payerAgent, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.payer),
      );
      expect(await checkHint(w, w.responder, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.hospital),
      );
    });

    it("org+role grantee with a specific org covers only that org's members with the role", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(
        w,
        w.patient,
        terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: w.hospital, granteeRoles: Role.CLINICIAN | Role.PAYER }),
      );
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
      expect(await checkHint(w, w.labTech, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.lab),
      );
      expect(await checkHint(w, w.payerAgent, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.payer),
      );
      expect(await checkHint(w, w.officer, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("GRANTEE_MISMATCH", id, w.hospital),
      );
      expect(await checkBoth(w, w.labTech, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.lab),
      );
    });

    it("CONSENT_REVOKED by hint; a revoked consent has left the index, so the scan finds none", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      await (await w.consents.connect(w.guardian).revoke(w.subject, id)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("CONSENT_REVOKED", id, w.hospital),
      );
    });

    it("CONSENT_EXPIRED after validUntil", async () => {
      const w = await networkHelpers.loadFixture(world);
      const until = (await w.now()) + DAY;
      const id = await grantAs(w, w.patient, doctorPermit(w, { validUntil: until }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
      await time.increaseTo(until + 1);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CONSENT_EXPIRED", id, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("CONSENT_EXPIRED", id, w.hospital),
      );
    });

    it("CONSENT_NOT_YET_VALID before validFrom, allowed from then on", async () => {
      const w = await networkHelpers.loadFixture(world);
      const from = (await w.now()) + DAY;
      const id = await grantAs(w, w.patient, doctorPermit(w, { validFrom: from }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CONSENT_NOT_YET_VALID", id, w.hospital),
      );
      await time.increaseTo(from + 1);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
    });

    it("CATEGORY_NOT_COVERED: a category outside the mask, and any category > 15 (no consent looked up)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      expect(await checkBoth(w, w.doctor, Category.IMAGING, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CATEGORY_NOT_COVERED", id, w.hospital),
      );
      expect(await checkBoth(w, w.doctor, Category.REQUESTS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CATEGORY_NOT_COVERED", id, w.hospital),
      );
      const all = await grantAs(w, w.patient, doctorPermit(w, { categories: ALL_CATEGORIES }));
      expect(await checkBoth(w, w.doctor, 15, Purpose.TREAT, Action.READ)).to.deep.equal(allowedBy(all, w.hospital));
      for (const c of [16, 19, 31, 32, 100, 255]) {
        expect(await checkBoth(w, w.doctor, c, Purpose.TREAT, Action.READ)).to.deep.equal(
          refused("CATEGORY_NOT_COVERED", ZERO_ID, 0),
        );
        expect(await checkHint(w, w.doctor, c, Purpose.TREAT, Action.READ, all)).to.deep.equal(
          refused("CATEGORY_NOT_COVERED", ZERO_ID, 0),
        );
      }
    });

    it("PURPOSE_NOT_ALLOWED for a READ with a purpose outside the mask", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      for (const p of [Purpose.HPAYMT, Purpose.HRESCH, Purpose.BTG]) {
        expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, p, Action.READ)).to.deep.equal(
          refused("PURPOSE_NOT_ALLOWED", id, w.hospital),
        );
      }
      const btg = await grantAs(w, w.patient, doctorPermit(w, { purposes: purposeMask(["BTG"]) }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.BTG, Action.READ)).to.deep.equal(
        allowedBy(btg, w.hospital),
      );
    });

    it("ACTION_NOT_ALLOWED: APPEND not granted; action values 0, 3, 4 are invalid", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w, { actions: Action.READ }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.APPEND)).to.deep.equal(
        refused("ACTION_NOT_ALLOWED", id, w.hospital),
      );
      const both = await grantAs(w, w.patient, doctorPermit(w, { actions: Action.READ | Action.APPEND }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.APPEND)).to.deep.equal(
        allowedBy(both, w.hospital),
      );
      for (const a of [0, 3, 4, 255]) {
        expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, a)).to.deep.equal(
          refused("ACTION_NOT_ALLOWED", ZERO_ID, 0),
        );
        expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, a, both)).to.deep.equal(
          refused("ACTION_NOT_ALLOWED", ZERO_ID, 0),
        );
      }
      // An APPEND-only permit does not allow READ.
      const appendOnly = await grantAs(
        w,
        w.patient,
        terms({ granteeAccount: w.labTech.address, actions: Action.APPEND }),
      );
      expect(await checkBoth(w, w.labTech, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ACTION_NOT_ALLOWED", appendOnly, w.lab),
      );
    });

    it("INVALID_PURPOSE: a READ with a purpose code > 9", async () => {
      const w = await networkHelpers.loadFixture(world);
      await grantAs(w, w.patient, doctorPermit(w, { purposes: ALL_PURPOSES }));
      for (const p of [10, 31, 32, 41, 255]) {
        expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, p, Action.READ)).to.deep.equal(
          refused("INVALID_PURPOSE", ZERO_ID, 0),
        );
      }
      // Even the subject cannot ask with a bogus purpose.
      expect(await checkBoth(w, w.patient, Category.OBSERVATIONS, 10, Action.READ)).to.deep.equal(
        refused("INVALID_PURPOSE", ZERO_ID, 0),
      );
    });

    it("APPEND ignores the purpose (any value); READ does not", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(
        w,
        w.patient,
        doctorPermit(w, { actions: Action.READ | Action.APPEND, purposes: purposeMask(["TREAT"]) }),
      );
      for (const p of [Purpose.TREAT, Purpose.HPAYMT, Purpose.BTG, 10, 31, 32, 200, 255]) {
        expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, p, Action.APPEND), `purpose ${p}`).to.deep.equal(
          allowedBy(id, w.hospital),
        );
      }
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.HPAYMT, Action.READ)).to.deep.equal(
        refused("PURPOSE_NOT_ALLOWED", id, w.hospital),
      );
    });

    describe("DENIED_BY_SUBJECT", () => {
      it("a deny overrides an older permit, a newer permit and a hinted permit", async () => {
        const w = await networkHelpers.loadFixture(world);
        const older = await grantAs(w, w.patient, doctorPermit(w));
        const denyId = await grantAs(
          w,
          w.patient,
          deny({ granteeAccount: w.doctor.address, categories: categoryMask(["OBSERVATIONS"]), purposes: ALL_PURPOSES }),
        );
        const newer = await grantAs(w, w.patient, doctorPermit(w, { categories: ALL_CATEGORIES, purposes: ALL_PURPOSES }));
        const denied = refused("DENIED_BY_SUBJECT", denyId, w.hospital);
        expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(denied);
        for (const hint of [older, newer]) {
          expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, hint)).to.deep.equal(
            denied,
          );
        }
        // Outside the deny's category the first listed covering permit applies.
        expect(await checkBoth(w, w.doctor, Category.MEDICATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
          allowedBy(older, w.hospital),
        );
        expect(await checkBoth(w, w.doctor, Category.IMAGING, Purpose.TREAT, Action.READ)).to.deep.equal(
          allowedBy(newer, w.hospital),
        );
      });

      it('"never REQUESTS to the PAYER role at any org" blocks the payer but not the doctor', async () => {
        const w = await networkHelpers.loadFixture(world);
        const permit = await grantAs(
          w,
          w.patient,
          terms({
            granteeKind: GranteeKind.ORG_ROLE,
            granteeRoles: Role.CLINICIAN | Role.PAYER,
            categories: ALL_CATEGORIES,
            purposes: purposeMask(["TREAT", "HPAYMT"]),
            actions: Action.READ | Action.APPEND,
          }),
        );
        const denyId = await grantAs(
          w,
          w.patient,
          deny({
            granteeKind: GranteeKind.ORG_ROLE,
            granteeOrg: 0,
            granteeRoles: Role.PAYER,
            categories: categoryMask(["REQUESTS"]),
            purposes: ALL_PURPOSES,
            actions: Action.READ | Action.APPEND,
          }),
        );
        for (const p of [Purpose.HPAYMT, Purpose.TREAT]) {
          expect(await checkBoth(w, w.payerAgent, Category.REQUESTS, p, Action.READ)).to.deep.equal(
            refused("DENIED_BY_SUBJECT", denyId, w.payer),
          );
        }
        expect(await checkBoth(w, w.payerAgent, Category.REQUESTS, Purpose.HPAYMT, Action.APPEND)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", denyId, w.payer),
        );
        expect(
          await checkHint(w, w.payerAgent, Category.REQUESTS, Purpose.HPAYMT, Action.READ, permit),
        ).to.deep.equal(refused("DENIED_BY_SUBJECT", denyId, w.payer));
        expect(await checkBoth(w, w.payerAgent, Category.FINANCIAL, Purpose.HPAYMT, Action.READ)).to.deep.equal(
          allowedBy(permit, w.payer),
        );
        expect(await checkBoth(w, w.doctor, Category.REQUESTS, Purpose.TREAT, Action.READ)).to.deep.equal(
          allowedBy(permit, w.hospital),
        );
        expect(await checkBoth(w, w.labTech, Category.REQUESTS, Purpose.TREAT, Action.APPEND)).to.deep.equal(
          allowedBy(permit, w.lab),
        );
      });

      it("a deny applies only within its own terms (action, purpose, window, grantee)", async () => {
        const w = await networkHelpers.loadFixture(world);
        const now = await w.now();
        const permit = await grantAs(
          w,
          w.patient,
          doctorPermit(w, { categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, actions: Action.READ | Action.APPEND }),
        );
        const readOnly = await grantAs(
          w,
          w.patient,
          deny({ granteeAccount: w.doctor.address, categories: 1 << Category.NOTES, actions: Action.READ }),
        );
        const hpaymtOnly = await grantAs(
          w,
          w.patient,
          deny({
            granteeAccount: w.doctor.address,
            categories: 1 << Category.FINANCIAL,
            purposes: purposeMask(["HPAYMT"]),
            actions: Action.READ | Action.APPEND,
          }),
        );
        const later = await grantAs(
          w,
          w.patient,
          deny({ granteeAccount: w.doctor.address, categories: 1 << Category.DIAGNOSTIC_REPORTS, validFrom: now + DAY }),
        );
        const shortLived = await grantAs(
          w,
          w.patient,
          deny({ granteeAccount: w.doctor.address, categories: 1 << Category.IMAGING, validUntil: now + DAY }),
        );
        await grantAs(w, w.patient, deny({ granteeAccount: w.labTech.address, categories: ALL_CATEGORIES }));

        const ok = allowedBy(permit, w.hospital);
        const q = (c: number, p: number, a: number) => checkBoth(w, w.doctor, c, p, a);
        expect(await q(Category.NOTES, Purpose.TREAT, Action.READ)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", readOnly, w.hospital),
        );
        expect(await q(Category.NOTES, Purpose.TREAT, Action.APPEND)).to.deep.equal(ok);
        expect(await q(Category.FINANCIAL, Purpose.HPAYMT, Action.READ)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", hpaymtOnly, w.hospital),
        );
        expect(await q(Category.FINANCIAL, Purpose.TREAT, Action.READ)).to.deep.equal(ok);
        // APPEND ignores purposes, for denies too.
        expect(await q(Category.FINANCIAL, Purpose.TREAT, Action.APPEND)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", hpaymtOnly, w.hospital),
        );
        expect(await q(Category.DIAGNOSTIC_REPORTS, Purpose.TREAT, Action.READ)).to.deep.equal(ok);
        expect(await q(Category.IMAGING, Purpose.TREAT, Action.READ)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", shortLived, w.hospital),
        );
        expect(await q(Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(ok);

        await time.increaseTo(now + DAY + 1);
        expect(await q(Category.DIAGNOSTIC_REPORTS, Purpose.TREAT, Action.READ)).to.deep.equal(
          refused("DENIED_BY_SUBJECT", later, w.hospital),
        );
        expect(await q(Category.IMAGING, Purpose.TREAT, Action.READ)).to.deep.equal(ok);
      });
    });

    it("ACCESSOR_UNKNOWN: an account that is not an enrolled practitioner", async () => {
      const w = await networkHelpers.loadFixture(world);
      await grantAs(
        w,
        w.patient,
        terms({ granteeKind: GranteeKind.ORG_ROLE, granteeRoles: 63, categories: ALL_CATEGORIES }),
      );
      const id = await grantAs(w, w.patient, terms({ granteeAccount: w.doctor.address }));
      for (const who of [w.stranger, w.hospitalAdmin, w.guardian]) {
        expect(await checkBoth(w, who, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
          refused("ACCESSOR_UNKNOWN", ZERO_ID, 0),
        );
        // Another practitioner's permit does not help an unknown account either.
        expect(await checkHint(w, who, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
          refused("ACCESSOR_UNKNOWN", ZERO_ID, 0),
        );
      }
    });

    it("ACCESSOR_SUSPENDED while the practitioner is suspended", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      await (await w.directory.connect(w.hospitalAdmin).suspendPractitioner(w.doctor.address)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ACCESSOR_SUSPENDED", ZERO_ID, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("ACCESSOR_SUSPENDED", ZERO_ID, w.hospital),
      );
      await (await w.directory.connect(w.hospitalAdmin).reinstatePractitioner(w.doctor.address)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
    });

    it("CREDENTIAL_EXPIRED once the practitioner's credential lapses", async () => {
      const w = await networkHelpers.loadFixture(world);
      const id = await grantAs(w, w.patient, doctorPermit(w));
      const until = (await w.now()) + DAY;
      await (
        await w.directory.connect(w.hospitalAdmin).updatePractitioner(w.doctor.address, Role.CLINICIAN, until)
      ).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(id, w.hospital),
      );
      await time.increaseTo(until + 1);
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CREDENTIAL_EXPIRED", ZERO_ID, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, id)).to.deep.equal(
        refused("CREDENTIAL_EXPIRED", ZERO_ID, w.hospital),
      );
    });

    it("ORGANIZATION_SUSPENDED from the moment the organization is suspended (practitioner and org+role consents)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const doc = await grantAs(w, w.patient, doctorPermit(w));
      const payer = await grantAs(
        w,
        w.patient,
        terms({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeOrg: w.payer,
          granteeRoles: Role.PAYER,
          purposes: purposeMask(["HPAYMT"]),
        }),
      );
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(doc, w.hospital),
      );
      await (await w.directory.connect(w.governance).suspendOrganization(w.hospital)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ORGANIZATION_SUSPENDED", ZERO_ID, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, doc)).to.deep.equal(
        refused("ORGANIZATION_SUSPENDED", ZERO_ID, w.hospital),
      );
      // Other organizations are unaffected.
      expect(await checkBoth(w, w.payerAgent, Category.OBSERVATIONS, Purpose.HPAYMT, Action.READ)).to.deep.equal(
        allowedBy(payer, w.payer),
      );
      await (await w.directory.connect(w.governance).suspendOrganization(w.payer)).wait();
      expect(await checkHint(w, w.payerAgent, Category.OBSERVATIONS, Purpose.HPAYMT, Action.READ, payer)).to.deep.equal(
        refused("ORGANIZATION_SUSPENDED", ZERO_ID, w.payer),
      );
      await (await w.directory.connect(w.governance).reinstateOrganization(w.hospital)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(doc, w.hospital),
      );
    });

    it("the subject's controller is allowed with basis SUBJECT without any consent; a former controller is not", async () => {
      const w = await networkHelpers.loadFixture(world);
      for (const [c, p, a] of [
        [Category.OBSERVATIONS, Purpose.TREAT, Action.READ],
        [Category.DOCUMENTS, Purpose.PATRQT, Action.READ],
        [15, Purpose.BTG, Action.APPEND],
      ] as const) {
        expect(await checkBoth(w, w.patient, c, p, a)).to.deep.equal(asSubject);
      }
      const newController = extra(w, 2);
      await (await w.directory.connect(w.patient).rotateController(w.subject, newController.address)).wait();
      expect(await checkBoth(w, newController, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        asSubject,
      );
      expect(await checkBoth(w, w.patient, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ACCESSOR_UNKNOWN", ZERO_ID, 0),
      );
    });

    it("a controller who is also an active practitioner falls back to basis SUBJECT when no consent matches", async () => {
      const w = await networkHelpers.loadFixture(world);
      const own = await registerSubject(w, w.doctor);
      expect(
        decision(await w.consents.check(w.doctor.address, own, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)),
      ).to.deep.equal(asSubject);
      // ... while for the world's subject the doctor still needs a consent.
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
    });

    it("the subject basis is not blocked by the subject's own denies (an ACCESS guardian or controller who is a covered clinician)", async () => {
      const w = await networkHelpers.loadFixture(world);
      // The lab technician (an active CLINICIAN) is also the subject's representative with ACCESS.
      await appoint(w, w.labTech, Power.ACCESS);
      expect(await checkBoth(w, w.labTech, Category.DOCUMENTS, Purpose.PATRQT, Action.READ)).to.deep.equal(
        asSubject,
      );
      const denyId = await grantAs(
        w,
        w.patient,
        deny({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeRoles: Role.CLINICIAN,
          categories: categoryMask(["DOCUMENTS"]),
          purposes: ALL_PURPOSES,
        }),
      );
      // The deny is a rule about others: acting for the subject, the guardian still reads.
      expect(await checkBoth(w, w.labTech, Category.DOCUMENTS, Purpose.PATRQT, Action.READ)).to.deep.equal(
        asSubject,
      );
      // ... while a clinician reading in a professional capacity, even with a permit, is refused.
      await grantAs(
        w,
        w.patient,
        terms({
          granteeAccount: w.doctor.address,
          categories: categoryMask(["DOCUMENTS"]),
          purposes: 1 << Purpose.TREAT,
        }),
      );
      expect(await checkBoth(w, w.doctor, Category.DOCUMENTS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("DENIED_BY_SUBJECT", denyId, w.hospital),
      );
      // Outside the deny the subject basis still applies.
      expect(await checkBoth(w, w.labTech, Category.OBSERVATIONS, Purpose.PATRQT, Action.READ)).to.deep.equal(
        asSubject,
      );
      // The same holds for a controller who is an active clinician.
      const own = await registerSubject(w, w.doctor);
      const ownDeny = await grantAs(
        w,
        w.doctor,
        deny({
          granteeKind: GranteeKind.ORG_ROLE,
          granteeRoles: Role.CLINICIAN,
          categories: categoryMask(["DOCUMENTS"]),
        }),
        own,
      );
      expect(
        decision(await w.consents.check(w.doctor.address, own, Category.DOCUMENTS, Purpose.TREAT, Action.READ)),
      ).to.deep.equal(asSubject);
      expect(ownDeny).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("a guardian with ACCESS is allowed with basis SUBJECT; guardians without ACCESS are not", async () => {
      const w = await networkHelpers.loadFixture(world);
      const rep = extra(w, 3);
      await appoint(w, rep, Power.ACCESS);
      expect(await checkBoth(w, rep, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(asSubject);
      expect(await checkBoth(w, rep, Category.NOTES, Purpose.COC, Action.APPEND)).to.deep.equal(asSubject);
      // The fixture's guardian holds GRANT|REVOKE|RECOVER but not ACCESS.
      expect(await checkBoth(w, w.guardian, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ACCESSOR_UNKNOWN", ZERO_ID, 0),
      );
      // Removing the guardianship ends it.
      await appoint(w, rep, 0);
      expect(await checkBoth(w, rep, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("ACCESSOR_UNKNOWN", ZERO_ID, 0),
      );
      // Subject basis is per subject.
      const other = randomId();
      expect(
        decision(await w.consents.check(w.patient.address, other, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)),
      ).to.deep.equal(refused("ACCESSOR_UNKNOWN", ZERO_ID, 0));
    });

    it("a hint pointing to a deny or to an unknown id → NO_CONSENT with that id", async () => {
      const w = await networkHelpers.loadFixture(world);
      const permit = await grantAs(w, w.patient, doctorPermit(w));
      const denyId = await grantAs(w, w.patient, deny({ granteeAccount: w.payerAgent.address }));
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, denyId)).to.deep.equal(
        refused("NO_CONSENT", denyId, w.hospital),
      );
      const unknown = offChainId(w.subject, 99);
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, unknown)).to.deep.equal(
        refused("NO_CONSENT", unknown, w.hospital),
      );
      const random = randomId();
      expect(await checkHint(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ, random)).to.deep.equal(
        refused("NO_CONSENT", random, w.hospital),
      );
      // The scan still finds the permit.
      expect(await check(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(permit, w.hospital),
      );
    });

    it("a hint evaluates only that permit and explains exactly why it does not cover", async () => {
      const w = await networkHelpers.loadFixture(world);
      const obs = await grantAs(w, w.patient, doctorPermit(w, { categories: categoryMask(["OBSERVATIONS"]) }));
      const img = await grantAs(w, w.patient, doctorPermit(w, { categories: categoryMask(["IMAGING"]) }));
      expect(await checkHint(w, w.doctor, Category.IMAGING, Purpose.TREAT, Action.READ, obs)).to.deep.equal(
        refused("CATEGORY_NOT_COVERED", obs, w.hospital),
      );
      expect(await checkHint(w, w.doctor, Category.IMAGING, Purpose.TREAT, Action.READ, img)).to.deep.equal(
        allowedBy(img, w.hospital),
      );
      expect(await check(w, w.doctor, Category.IMAGING, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(img, w.hospital),
      );
      expect(await check(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(obs, w.hospital),
      );
    });

    it("the scan allows through any listed covering permit and otherwise reports the first listed permit naming the accessor", async () => {
      const w = await networkHelpers.loadFixture(world);
      const c1 = await grantAs(w, w.patient, doctorPermit(w, { categories: categoryMask(["MEDICATIONS"]) }));
      const c2 = await grantAs(
        w,
        w.patient,
        doctorPermit(w, { categories: categoryMask(["OBSERVATIONS"]), purposes: purposeMask(["HPAYMT"]) }),
      );
      // The doctor's own list comes first, in list order: c1's reason explains.
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CATEGORY_NOT_COVERED", c1, w.hospital),
      );
      // A consent for someone else is not relevant, nor is a deny that does not cover the request:
      // denies never explain a scan refusal, only DENIED_BY_SUBJECT does.
      await grantAs(w, w.patient, terms({ granteeAccount: w.labTech.address, categories: ALL_CATEGORIES }));
      await grantAs(w, w.patient, deny({ granteeAccount: w.labTech.address }));
      await grantAs(w, w.patient, deny({ granteeAccount: w.doctor.address, categories: categoryMask(["DIAGNOSTIC_REPORTS"]) }));
      const revokedDeny = await grantAs(w, w.patient, deny({ granteeAccount: w.doctor.address }));
      await (await w.consents.connect(w.patient).revoke(w.subject, revokedDeny)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("CATEGORY_NOT_COVERED", c1, w.hospital),
      );
      // Once c1 is revoked (and gone from the list) c2 explains.
      await (await w.consents.connect(w.patient).revoke(w.subject, c1)).wait();
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("PURPOSE_NOT_ALLOWED", c2, w.hospital),
      );
      // An organization permit that covers the request allows, whatever the doctor's own list says.
      const org = await grantAs(
        w,
        w.patient,
        terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: w.hospital, granteeRoles: Role.CLINICIAN }),
      );
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        allowedBy(org, w.hospital),
      );
      // An any-organization permit for another role names the doctor's list but not the doctor (GRANTEE_MISMATCH is
      // never an explanation).
      await (await w.consents.connect(w.patient).revoke(w.subject, org)).wait();
      await (await w.consents.connect(w.patient).revoke(w.subject, c2)).wait();
      await grantAs(w, w.patient, terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: 0, granteeRoles: Role.PAYER }));
      expect(await checkBoth(w, w.doctor, Category.OBSERVATIONS, Purpose.TREAT, Action.READ)).to.deep.equal(
        refused("NO_CONSENT", ZERO_ID, w.hospital),
      );
    });

    it("the DenyReason names used by these assertions follow the contract enum's order", async () => {
      // decision() names reasons through the fixture's list: guard against drift from MedLedgerTypes.sol.
      const { readFile } = await import("node:fs/promises");
      const source = await readFile("contracts/libraries/MedLedgerTypes.sol", "utf8");
      const body = /enum DenyReason \{([^}]*)\}/.exec(source)![1]!;
      const names = body.split(",").map((n) => n.trim()).filter((n) => n.length > 0);
      expect(names).to.deep.equal(REASON_NAMES);
    });
  });

  // ───────────────────────────── break-glass preference ─────────────────────────────

  describe("setBreakGlassOptOut", () => {
    it("the controller opts out and back in (events, view)", async () => {
      const w = await networkHelpers.loadFixture(world);
      await expect(w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, true))
        .to.emit(w.consents, "BreakGlassPreferenceSet")
        .withArgs(w.subject, true, w.patient.address);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(true);
      await expect(w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, false))
        .to.emit(w.consents, "BreakGlassPreferenceSet")
        .withArgs(w.subject, false, w.patient.address);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(false);
    });

    it("an unchanged preference → ConsentPreferenceUnchanged(subject, optedOut)", async () => {
      const w = await networkHelpers.loadFixture(world);
      await expect(w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, false))
        .to.be.revertedWithCustomError(w.consents, "ConsentPreferenceUnchanged")
        .withArgs(w.subject, false);
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, true)).wait();
      await expect(w.consents.connect(w.guardian).setBreakGlassOptOut(w.subject, true))
        .to.be.revertedWithCustomError(w.consents, "ConsentPreferenceUnchanged")
        .withArgs(w.subject, true);
    });

    it("a REVOKE-only guardian opts out but cannot opt back in; a GRANT-only guardian the reverse", async () => {
      const w = await networkHelpers.loadFixture(world);
      const revoker = extra(w, 0);
      const granter = extra(w, 1);
      await appoint(w, revoker, Power.REVOKE);
      await appoint(w, granter, Power.GRANT);
      await expect(w.consents.connect(granter).setBreakGlassOptOut(w.subject, true))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, granter.address, POWER_REVOKE);
      await expect(w.consents.connect(revoker).setBreakGlassOptOut(w.subject, true))
        .to.emit(w.consents, "BreakGlassPreferenceSet")
        .withArgs(w.subject, true, revoker.address);
      await expect(w.consents.connect(revoker).setBreakGlassOptOut(w.subject, false))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, revoker.address, POWER_GRANT);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(true);
      await expect(w.consents.connect(granter).setBreakGlassOptOut(w.subject, false))
        .to.emit(w.consents, "BreakGlassPreferenceSet")
        .withArgs(w.subject, false, granter.address);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(false);
    });

    it("a stranger or an unregistered subject → ConsentUnauthorized; preferences are per subject", async () => {
      const w = await networkHelpers.loadFixture(world);
      await expect(w.consents.connect(w.stranger).setBreakGlassOptOut(w.subject, true))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_REVOKE);
      await (await w.consents.connect(w.patient).setBreakGlassOptOut(w.subject, true)).wait();
      await expect(w.consents.connect(w.stranger).setBreakGlassOptOut(w.subject, false))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(w.subject, w.stranger.address, POWER_GRANT);
      const unknown = randomId();
      await expect(w.consents.connect(w.patient).setBreakGlassOptOut(unknown, true))
        .to.be.revertedWithCustomError(w.consents, "ConsentUnauthorized")
        .withArgs(unknown, w.patient.address, POWER_REVOKE);
      expect(await w.consents.breakGlassOptedOut(unknown)).to.equal(false);
      expect(await w.consents.breakGlassOptedOut(w.subject)).to.equal(true);
    });
  });

  describe("deny capacity", () => {
    it("places are per grantee, not per subject: denies naming 20 different practitioners all fit (1.0 stopped at 16)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const licence = (await w.now()) + YEAR;
      for (let i = 0; i < 20; i++) {
        const account = ethers.Wallet.createRandom().address;
        await (
          await w.directory.connect(w.labAdmin).enrollPractitioner(w.lab, account, Role.CLINICIAN, licence, fakeKey(`c${i}`))
        ).wait();
        await grantAs(w, w.patient, deny({ granteeAccount: account, purposes: ALL_PURPOSES }));
      }
      expect(await w.consents.consentCount(w.subject)).to.equal(20n);
    });
  });
});
