/**
 * Research on chain: StudyRegistry (studies, approval by an independent ethics board, runs,
 * contributions, sum-shares, result digests), the STUDY consents of ConsentRegistry (checkStudy:
 * denies win, permits must cover every category, consents in force at the time of the read) and
 * RecordRegistry's study reads (accessForStudy: logged with the study's purpose, basis STUDY and
 * the study id; a subject who does not allow the study is skipped). Every role and guard has a
 * negative test; reverts by custom error and arguments; events by arguments; and the studies'
 * state is rebuilt from events alone.
 */
import { expect } from "chai";
import { ZeroAddress, ZeroHash, AbiCoder, keccak256 } from "ethers";
import { network } from "hardhat";

import { replayStudyEvents } from "../../sdk/research/audit.js";
import {
  StudyBasis,
  StudyGrantee,
  approvedStudy,
  buildResearchWorld,
  grantResearch,
  openRun,
  readsAt,
  registerStudy,
  researchTerms,
  studyParams,
} from "../../fixtures/research.js";
import type { ResearchWorld } from "../../fixtures/research.js";
import {
  Action,
  AccessorStatus,
  Category,
  DAY,
  Effect,
  Purpose,
  Reason,
  Role,
  categoryMask,
  purposeMask,
  randomId,
  terms,
} from "../../fixtures/world.js";
import type { StudyParamsStructOutput } from "../../types/typechain/interfaces/IStudyRegistry.js";
import { StudyRegistry__factory, RecordRegistry__factory } from "../../types/typechain/index.js";

const conn = await network.create();
const { networkHelpers } = conn;
const { time } = networkHelpers;

const coder = AbiCoder.defaultAbiCoder();
const digestOf = (orgs: readonly number[]) => keccak256(coder.encode(["uint32[]"], [orgs]));
const commitments = (n: number) => Array.from({ length: n }, () => randomId());

async function world(): Promise<ResearchWorld> {
  return buildResearchWorld(conn);
}

/** An approved study at A and B with one run open, and every patient consenting. */
async function runningWorld() {
  const w = await world();
  const studyId = await approvedStudy(w);
  for (const p of w.patients) await grantResearch(w, p);
  const runId = await openRun(w, studyId);
  return { w, studyId, runId };
}

describe("StudyRegistry", () => {
  describe("deployment", () => {
    it("reports version 1.1.0, its wiring and its constants", async () => {
      const w = await networkHelpers.loadFixture(world);
      expect(await w.studies.version()).to.equal("1.1.0");
      expect(await w.studies.directory()).to.equal(await w.directory.getAddress());
      expect(await w.studies.keyholderRegistry()).to.equal(await w.keyholders.getAddress());
      expect(await w.records.studyRegistry()).to.equal(await w.studies.getAddress());
      expect([
        await w.studies.MIN_CELL_SIZE(),
        await w.studies.MIN_CUSTODIANS(),
        await w.studies.MAX_CUSTODIANS(),
        await w.studies.MAX_CELLS(),
        await w.studies.MAX_EPSILON_MILLI(),
        await w.studies.MIN_SERVERS(),
        await w.studies.MIN_RUN_WINDOW(),
        await w.studies.MAX_RUN_WINDOW(),
        await w.studies.ANY_RUN(),
      ]).to.deep.equal([3n, 2n, 32n, 65536n, 10000n, 2n, 60n, BigInt(30 * DAY), 0n]);
    });

    it("the constructor refuses a directory or keyholder registry that is not a contract, or is wired elsewhere", async () => {
      const w = await networkHelpers.loadFixture(world);
      const f = new StudyRegistry__factory(w.governance);
      await expect(f.deploy(w.stranger.address, w.keyholders))
        .to.be.revertedWithCustomError(f, "StudyInvalidAddress")
        .withArgs("directory");
      await expect(f.deploy(w.directory, w.stranger.address))
        .to.be.revertedWithCustomError(f, "StudyInvalidAddress")
        .withArgs("keyholders");
      // A keyholder registry of another directory.
      await expect(f.deploy(w.consents, w.keyholders))
        .to.be.revertedWithCustomError(f, "StudyInvalidAddress")
        .withArgs("keyholders");
    });
  });

  describe("RecordRegistry.setStudyRegistry", () => {
    async function unsealed() {
      const w = await world();
      const f = new RecordRegistry__factory(w.governance);
      const records = await f.deploy(w.directory, w.consents, w.governance.address);
      return { w, records };
    }

    it("the migrator connects it once, before sealing; the event names it", async () => {
      const { w, records } = await networkHelpers.loadFixture(unsealed);
      await expect(records.connect(w.stranger).setStudyRegistry(w.studies))
        .to.be.revertedWithCustomError(records, "MigrationUnauthorized")
        .withArgs(w.stranger.address);
      await expect(records.setStudyRegistry(w.stranger.address))
        .to.be.revertedWithCustomError(records, "RecordInvalidAddress")
        .withArgs("studies");
      await expect(records.setStudyRegistry(w.studies))
        .to.emit(records, "StudyRegistrySet")
        .withArgs(await w.studies.getAddress());
      await expect(records.setStudyRegistry(w.studies))
        .to.be.revertedWithCustomError(records, "RecordStudyRegistryAlreadySet")
        .withArgs(await w.studies.getAddress());
      await (await records.sealMigration()).wait();
      await expect(records.setStudyRegistry(w.studies))
        .to.be.revertedWithCustomError(records, "MigrationClosed")
        .withArgs(w.governance.address);
    });

    it("refuses a study registry of another directory; without one, study reads revert", async () => {
      const { w, records } = await networkHelpers.loadFixture(unsealed);
      const otherDirectory = await new (await import("../../types/typechain/index.js")).ParticipantDirectory__factory(
        w.governance,
      ).deploy(w.governance.address, w.governance.address);
      const otherKeyholders = await new (await import("../../types/typechain/index.js")).KeyholderRegistry__factory(
        w.governance,
      ).deploy(w.governance.address, otherDirectory);
      const otherStudies = await new StudyRegistry__factory(w.governance).deploy(otherDirectory, otherKeyholders);
      await expect(records.setStudyRegistry(otherStudies))
        .to.be.revertedWithCustomError(records, "RecordWiringMismatch")
        .withArgs(await w.directory.getAddress(), await otherDirectory.getAddress());
      const studyId = randomId();
      await expect(records.accessForStudy(studyId, 1, []))
        .to.be.revertedWithCustomError(records, "RecordStudyRegistryNotSet")
        .withArgs(studyId);
    });
  });

  describe("registerStudy", () => {
    it("an active researcher of a research institute registers; the event carries the params and salt; views match", async () => {
      const w = await networkHelpers.loadFixture(world);
      const params = await studyParams(w, { epsilonMilli: 500 });
      const salt = randomId();
      const studyId = await w.studies.studyIdFor(w.researcher.address, salt);
      const tx = w.studies.connect(w.researcher).registerStudy(salt, params);
      await expect(tx).to.emit(w.studies, "StudyRegistered");
      const receipt = await (await tx).wait();
      const log = w.studies.interface.parseLog(receipt!.logs[0]!)!;
      expect(log.args.studyId).to.equal(studyId);
      expect(log.args.researcher).to.equal(w.researcher.address);
      expect(log.args.researchOrg).to.equal(BigInt(w.org.institute));
      expect(log.args.salt).to.equal(salt);
      const p = log.args.params as StudyParamsStructOutput;
      expect([p.protocolDigest, p.queryDigest, p.purpose, p.categories, p.cells, p.minCellSize]).to.deep.equal([
        params.protocolDigest,
        params.queryDigest,
        BigInt(params.purpose),
        BigInt(params.categories),
        BigInt(params.cells),
        BigInt(params.minCellSize),
      ]);
      expect([p.minCustodians, p.maxRuns, p.epsilonMilli, p.validFrom, p.validUntil]).to.deep.equal([
        2n,
        3n,
        500n,
        0n,
        BigInt(params.validUntil),
      ]);
      expect(p.custodians).to.deep.equal([BigInt(w.org.hospitalA), BigInt(w.org.hospitalB)]);
      const s = await w.studies.getStudy(studyId);
      expect([
        s.researcher,
        s.researchOrg,
        s.purpose,
        s.epsilonMilli,
        s.runCount,
        s.approvedAt,
        s.closedAt,
      ]).to.deep.equal([w.researcher.address, BigInt(w.org.institute), BigInt(Purpose.HRESCH), 500n, 0n, 0n, 0n]);
      expect(s.registeredAt).to.equal(BigInt(await w.now()));
      expect(s.queryDigest).to.equal(params.queryDigest);
      expect(await w.studies.studyCustodians(studyId)).to.deep.equal([
        BigInt(w.org.hospitalA),
        BigInt(w.org.hospitalB),
      ]);
      expect(await w.studies.isCustodian(studyId, w.org.hospitalA)).to.equal(true);
      expect(await w.studies.isCustodian(studyId, w.org.lab)).to.equal(false);
      await expect(w.studies.connect(w.researcher).registerStudy(salt, params))
        .to.be.revertedWithCustomError(w.studies, "StudyExists")
        .withArgs(studyId);
    });

    it("only an ACTIVE researcher of a research institute: StudyNotRegistrar names status, organization and roles", async () => {
      const w = await networkHelpers.loadFixture(world);
      const params = await studyParams(w);
      const steward = w.steward.get(w.org.hospitalA)!;
      const clinician = w.clinician.get(w.org.hospitalA)!;
      await expect(w.studies.connect(steward).registerStudy(randomId(), params))
        .to.be.revertedWithCustomError(w.studies, "StudyNotRegistrar")
        .withArgs(steward.address, AccessorStatus.ACTIVE, w.org.hospitalA, Role.RESEARCHER);
      await expect(w.studies.connect(clinician).registerStudy(randomId(), params))
        .to.be.revertedWithCustomError(w.studies, "StudyNotRegistrar")
        .withArgs(clinician.address, AccessorStatus.ACTIVE, w.org.hospitalA, Role.CLINICIAN);
      await expect(w.studies.connect(w.stranger).registerStudy(randomId(), params))
        .to.be.revertedWithCustomError(w.studies, "StudyNotRegistrar")
        .withArgs(w.stranger.address, AccessorStatus.UNKNOWN, 0, 0);
      await (await w.directory.connect(w.admin.institute).suspendPractitioner(w.researcher.address)).wait();
      await expect(w.studies.connect(w.researcher).registerStudy(randomId(), params))
        .to.be.revertedWithCustomError(w.studies, "StudyNotRegistrar")
        .withArgs(w.researcher.address, AccessorStatus.SUSPENDED, w.org.institute, Role.RESEARCHER);
    });

    it("refuses zero digests and every invalid parameter, naming it", async () => {
      const w = await networkHelpers.loadFixture(world);
      const now = await w.now();
      const cases: [Record<string, unknown>, string, string][] = [
        [{ protocolDigest: ZeroHash }, "StudyZeroValue", "protocolDigest"],
        [{ queryDigest: ZeroHash }, "StudyZeroValue", "queryDigest"],
        [{ purpose: Purpose.TREAT }, "StudyInvalidParams", "purpose"],
        [{ purpose: 10 }, "StudyInvalidParams", "purpose"],
        [{ categories: 0 }, "StudyInvalidParams", "categories"],
        [{ cells: 0 }, "StudyInvalidParams", "cells"],
        [{ cells: 65537 }, "StudyInvalidParams", "cells"],
        [{ minCellSize: 2 }, "StudyInvalidParams", "minCellSize"],
        [{ custodians: [] }, "StudyInvalidParams", "custodians"],
        [{ custodians: Array.from({ length: 33 }, (_, i) => i + 1) }, "StudyInvalidParams", "custodians"],
        [{ minCustodians: 1 }, "StudyInvalidParams", "minCustodians"],
        [{ minCustodians: 3 }, "StudyInvalidParams", "minCustodians"],
        [{ maxRuns: 0 }, "StudyInvalidParams", "maxRuns"],
        [{ epsilonMilli: 10001 }, "StudyInvalidParams", "epsilonMilli"],
        [{ validFrom: 2n ** 40n }, "StudyInvalidParams", "validFrom"],
        [{ validFrom: now + 100, validUntil: now + 100 }, "StudyInvalidParams", "validUntil"],
        [{ validUntil: now - 1 }, "StudyInvalidParams", "validUntil"],
        [{ validUntil: 2n ** 40n }, "StudyInvalidParams", "validUntil"],
      ];
      for (const [override, error, field] of cases) {
        await expect(w.studies.connect(w.researcher).registerStudy(randomId(), await studyParams(w, override)))
          .to.be.revertedWithCustomError(w.studies, error)
          .withArgs(field);
      }
    });

    it("custodians are admitted hospitals or labs, strictly ascending", async () => {
      const w = await networkHelpers.loadFixture(world);
      const { hospitalA, hospitalB, lab, payer, institute, board } = w.org;
      const cases: [number[], number][] = [
        [[hospitalB, hospitalA], hospitalA],
        [[hospitalA, hospitalA], hospitalA],
        [[hospitalA, payer], payer],
        [[hospitalA, institute], institute],
        [[hospitalA, board], board],
        [[0, hospitalA], 0],
        [[hospitalA, 99], 99],
      ];
      for (const [custodians, bad] of cases) {
        await expect(w.studies.connect(w.researcher).registerStudy(randomId(), await studyParams(w, { custodians })))
          .to.be.revertedWithCustomError(w.studies, "StudyInvalidCustodian")
          .withArgs(bad);
      }
      await registerStudy(w, await studyParams(w, { custodians: [hospitalA, hospitalB, lab] }));
    });
  });

  describe("approveStudy", () => {
    it("an ACTIVE ethics-board member approves; the event names board, approver and decision digest", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await registerStudy(w);
      const decision = randomId();
      await expect(w.studies.connect(w.boardMember).approveStudy(studyId, decision))
        .to.emit(w.studies, "StudyApproved")
        .withArgs(studyId, w.org.board, w.boardMember.address, decision);
      const s = await w.studies.getStudy(studyId);
      expect([s.approvedBy, s.approver, s.approvedAt, s.approvalDigest]).to.deep.equal([
        BigInt(w.org.board),
        w.boardMember.address,
        BigInt(await w.now()),
        decision,
      ]);
      await expect(w.studies.connect(w.board2Member).approveStudy(studyId, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyAlreadyApproved")
        .withArgs(studyId, w.org.board);
    });

    it("nobody else approves: the researcher, a hospital, a stranger, a suspended board member (StudyNotEthicsBoard)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await registerStudy(w);
      const clinician = w.clinician.get(w.org.hospitalA)!;
      for (const [who, status, orgId] of [
        [w.researcher, AccessorStatus.ACTIVE, w.org.institute],
        [clinician, AccessorStatus.ACTIVE, w.org.hospitalA],
        [w.stranger, AccessorStatus.UNKNOWN, 0],
      ] as const) {
        await expect(w.studies.connect(who).approveStudy(studyId, randomId()))
          .to.be.revertedWithCustomError(w.studies, "StudyNotEthicsBoard")
          .withArgs(who.address, status, orgId);
      }
      await (await w.directory.suspendOrganization(w.org.board)).wait();
      await expect(w.studies.connect(w.boardMember).approveStudy(studyId, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyNotEthicsBoard")
        .withArgs(w.boardMember.address, AccessorStatus.ORGANIZATION_SUSPENDED, w.org.board);
    });

    it("refuses an unknown, closed or ended study and a zero decision digest", async () => {
      const w = await networkHelpers.loadFixture(world);
      const unknown = randomId();
      await expect(w.studies.connect(w.boardMember).approveStudy(unknown, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknown")
        .withArgs(unknown);
      const studyId = await registerStudy(w);
      await expect(w.studies.connect(w.boardMember).approveStudy(studyId, ZeroHash))
        .to.be.revertedWithCustomError(w.studies, "StudyZeroValue")
        .withArgs("approvalDigest");
      const s = await w.studies.getStudy(studyId);
      await time.increaseTo(s.validUntil);
      await expect(w.studies.connect(w.boardMember).approveStudy(studyId, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyNotInWindow")
        .withArgs(studyId, s.validFrom, s.validUntil, s.validUntil + 1n);
      const closed = await registerStudy(w);
      await (await w.studies.connect(w.researcher).closeStudy(closed)).wait();
      const closedAt = (await w.studies.getStudy(closed)).closedAt;
      await expect(w.studies.connect(w.boardMember).approveStudy(closed, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyIsClosed")
        .withArgs(closed, closedAt);
    });
  });

  describe("closeStudy", () => {
    it("its researcher, or an active member of the approving board, closes it for ever", async () => {
      const w = await networkHelpers.loadFixture(world);
      const a = await approvedStudy(w);
      await expect(w.studies.connect(w.boardMember).closeStudy(a))
        .to.emit(w.studies, "StudyClosed")
        .withArgs(a, w.boardMember.address, (await w.now()) + 1);
      await expect(w.studies.connect(w.researcher).closeStudy(a))
        .to.be.revertedWithCustomError(w.studies, "StudyIsClosed")
        .withArgs(a, (await w.studies.getStudy(a)).closedAt);
      const b = await registerStudy(w);
      await expect(w.studies.connect(w.researcher).closeStudy(b)).to.emit(w.studies, "StudyClosed");
    });

    it("nobody else: another researcher, another board, the board before it approved, a suspended member", async () => {
      const w = await networkHelpers.loadFixture(world);
      const unapproved = await registerStudy(w);
      const approved = await approvedStudy(w);
      for (const [studyId, who] of [
        [approved, w.researcher2],
        [approved, w.board2Member],
        [approved, w.stranger],
        [unapproved, w.boardMember],
      ] as const) {
        await expect(w.studies.connect(who).closeStudy(studyId))
          .to.be.revertedWithCustomError(w.studies, "StudyNotResearcher")
          .withArgs(studyId, who.address);
      }
      await (await w.directory.connect(w.admin.board).suspendPractitioner(w.boardMember.address)).wait();
      await expect(w.studies.connect(w.boardMember).closeStudy(approved))
        .to.be.revertedWithCustomError(w.studies, "StudyNotResearcher")
        .withArgs(approved, w.boardMember.address);
      const unknown = randomId();
      await expect(w.studies.closeStudy(unknown))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknown")
        .withArgs(unknown);
    });
  });

  describe("openRun", () => {
    it("the researcher opens runs; the active keyholders become the servers; the event has deadline, epoch and servers", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await approvedStudy(w);
      const epoch = await w.keyholders.epoch();
      const at = (await w.now()) + 1;
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.emit(w.studies, "RunOpened")
        .withArgs(studyId, 1, w.researcher.address, at + 600, epoch, [1, 2, 3]);
      const r = await w.studies.getRun(studyId, 1);
      expect([r.openedAt, r.deadline, r.keyholderEpoch, r.contributions, r.sumShares, r.resultDigest]).to.deep.equal([
        BigInt(at),
        BigInt(at + 600),
        epoch,
        0n,
        0n,
        ZeroHash,
      ]);
      expect(r.servers).to.deep.equal([1n, 2n, 3n]);
      expect(r.contributors).to.deep.equal([]);
      await expect(w.studies.getRun(studyId, 2))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknownRun")
        .withArgs(studyId, 2);
      await openRun(w, studyId);
      await openRun(w, studyId);
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyRunLimitReached")
        .withArgs(studyId, 3);
    });

    it("only the study's researcher, on an approved, open, current study", async () => {
      const w = await networkHelpers.loadFixture(world);
      const unapproved = await registerStudy(w);
      await expect(w.studies.connect(w.researcher).openRun(unapproved, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyNotApproved")
        .withArgs(unapproved);
      const studyId = await approvedStudy(w);
      await expect(w.studies.connect(w.researcher2).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyNotResearcher")
        .withArgs(studyId, w.researcher2.address);
      const later = await approvedStudy(w, await studyParams(w, { validFrom: (await w.now()) + DAY }));
      const s = await w.studies.getStudy(later);
      await expect(w.studies.connect(w.researcher).openRun(later, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyNotInWindow")
        .withArgs(later, s.validFrom, s.validUntil, (await w.now()) + 1);
      await (await w.studies.connect(w.researcher).closeStudy(studyId)).wait();
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyIsClosed")
        .withArgs(studyId, (await w.studies.getStudy(studyId)).closedAt);
    });

    it("bounds the contribution window (60 s .. 30 days, before the study ends)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await approvedStudy(w);
      for (const window of [59, 30 * DAY + 1, 30 * DAY]) {
        await expect(w.studies.connect(w.researcher).openRun(studyId, window))
          .to.be.revertedWithCustomError(w.studies, "StudyInvalidRunWindow")
          .withArgs(window, 60, 30 * DAY);
      }
    });

    it("a suspended researcher, institute or approving board suspends the study (StudySuspended)", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await approvedStudy(w);
      await (await w.directory.suspendOrganization(w.org.board)).wait();
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudySuspended")
        .withArgs(studyId, w.researcher.address, w.org.board, AccessorStatus.ORGANIZATION_SUSPENDED);
      await (await w.directory.reinstateOrganization(w.org.board)).wait();
      await (await w.directory.barPractitioner(w.researcher.address)).wait();
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudySuspended")
        .withArgs(studyId, w.researcher.address, w.org.board, AccessorStatus.SUSPENDED);
    });

    it("needs at least two aggregation servers", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await approvedStudy(w);
      await (await w.keyholders.setThreshold(1)).wait();
      await (await w.keyholders.removeKeyholder(2)).wait();
      await (await w.keyholders.removeKeyholder(3)).wait();
      await expect(w.studies.connect(w.researcher).openRun(studyId, 600))
        .to.be.revertedWithCustomError(w.studies, "StudyNotEnoughServers")
        .withArgs(1, 2);
    });
  });

  describe("commitContribution", () => {
    it("a custodian's steward commits one commitment per server; the event and views say who, for how many patients, what", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      const steward = w.steward.get(w.org.hospitalB)!;
      const c = commitments(3);
      await expect(w.studies.connect(steward).commitContribution(studyId, runId, 4, c))
        .to.emit(w.studies, "ContributionCommitted")
        .withArgs(studyId, runId, w.org.hospitalB, steward.address, 4, c);
      const [contributor, committedAt, subjects, hash] = await w.studies.getContribution(
        studyId,
        runId,
        w.org.hospitalB,
      );
      expect([contributor, committedAt, subjects, hash]).to.deep.equal([
        steward.address,
        BigInt(await w.now()),
        4n,
        keccak256(coder.encode(["bytes32[]"], [c])),
      ]);
      expect(await w.studies.contributorsDigest(studyId, runId)).to.equal(digestOf([w.org.hospitalB]));
      expect((await w.studies.getRun(studyId, runId)).contributors).to.deep.equal([BigInt(w.org.hospitalB)]);
      await expect(w.studies.connect(steward).commitContribution(studyId, runId, 4, commitments(3)))
        .to.be.revertedWithCustomError(w.studies, "StudyAlreadyContributed")
        .withArgs(studyId, runId, w.org.hospitalB);
    });

    it("refuses non-custodians, non-researchers, suspended stewards, malformed commitments, unknown and closed runs", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      const labSteward = w.steward.get(w.org.lab)!;
      const clinician = w.clinician.get(w.org.hospitalA)!;
      for (const [who, orgId] of [
        [labSteward, w.org.lab],
        [clinician, w.org.hospitalA],
        [w.stranger, 0],
        [w.researcher, w.org.institute],
      ] as const) {
        await expect(w.studies.connect(who).commitContribution(studyId, runId, 1, commitments(3)))
          .to.be.revertedWithCustomError(w.studies, "StudyNotCustodian")
          .withArgs(studyId, who.address, orgId);
      }
      const steward = w.steward.get(w.org.hospitalA)!;
      await expect(w.studies.connect(steward).commitContribution(studyId, runId, 1, commitments(2)))
        .to.be.revertedWithCustomError(w.studies, "StudyInvalidCommitments")
        .withArgs(2, 3);
      await expect(w.studies.connect(steward).commitContribution(studyId, runId, 1, [randomId(), ZeroHash, randomId()]))
        .to.be.revertedWithCustomError(w.studies, "StudyInvalidCommitments")
        .withArgs(3, 3);
      await expect(w.studies.connect(steward).commitContribution(studyId, 9, 1, commitments(3)))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknownRun")
        .withArgs(studyId, 9);
      const deadline = (await w.studies.getRun(studyId, runId)).deadline;
      await time.increaseTo(deadline);
      await expect(w.studies.connect(steward).commitContribution(studyId, runId, 1, commitments(3)))
        .to.be.revertedWithCustomError(w.studies, "StudyRunClosed")
        .withArgs(studyId, runId, deadline);
      await (await w.directory.connect(w.admin.hospitalA).suspendPractitioner(steward.address)).wait();
      const run2 = await openRun(w, studyId);
      await expect(w.studies.connect(steward).commitContribution(studyId, run2, 1, commitments(3)))
        .to.be.revertedWithCustomError(w.studies, "StudyNotCustodian")
        .withArgs(studyId, steward.address, w.org.hospitalA);
    });

    it("a closed study takes no contribution", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      await (await w.studies.connect(w.researcher).closeStudy(studyId)).wait();
      await expect(
        w.studies.connect(w.steward.get(w.org.hospitalA)).commitContribution(studyId, runId, 1, commitments(3)),
      ).to.be.revertedWithCustomError(w.studies, "StudyIsClosed");
    });
  });

  describe("publishSumShare and publishResult", () => {
    async function contributedWorld() {
      const r = await runningWorld();
      const { w, studyId, runId } = r;
      await (
        await w.studies.connect(w.steward.get(w.org.hospitalA)).commitContribution(studyId, runId, 4, commitments(3))
      ).wait();
      return r;
    }

    it("each server publishes once, after the deadline, over exactly the contributors; then the researcher anchors the result", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(contributedWorld);
      await (
        await w.studies.connect(w.steward.get(w.org.hospitalB)).commitContribution(studyId, runId, 3, commitments(3))
      ).wait();
      // Every custodian contributed: no need to wait for the deadline.
      const digest = digestOf([w.org.hospitalA, w.org.hospitalB]);
      const shares = commitments(3);
      for (let i = 0; i < 3; i++) {
        if (i === 2) {
          await expect(w.studies.connect(w.researcher).publishResult(studyId, runId, randomId()))
            .to.be.revertedWithCustomError(w.studies, "StudySumSharesMissing")
            .withArgs(studyId, runId, 2, 3);
        }
        await expect(w.studies.connect(w.kh[i]).publishSumShare(studyId, runId, i + 1, shares[i]!, digest))
          .to.emit(w.studies, "SumSharePublished")
          .withArgs(studyId, runId, i + 1, shares[i]!, digest);
        expect(await w.studies.getSumShare(studyId, runId, i + 1)).to.deep.equal([shares[i], BigInt(await w.now())]);
      }
      await expect(w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, randomId(), digest))
        .to.be.revertedWithCustomError(w.studies, "StudySumShareExists")
        .withArgs(studyId, runId, 1);
      await expect(w.studies.connect(w.researcher2).publishResult(studyId, runId, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyNotResearcher")
        .withArgs(studyId, w.researcher2.address);
      await expect(w.studies.connect(w.researcher).publishResult(studyId, runId, ZeroHash))
        .to.be.revertedWithCustomError(w.studies, "StudyZeroValue")
        .withArgs("resultDigest");
      const result = randomId();
      await expect(w.studies.connect(w.researcher).publishResult(studyId, runId, result))
        .to.emit(w.studies, "ResultPublished")
        .withArgs(studyId, runId, w.researcher.address, result);
      const r = await w.studies.getRun(studyId, runId);
      expect([r.sumShares, r.resultDigest, r.resultPublishedAt]).to.deep.equal([3n, result, BigInt(await w.now())]);
      await expect(w.studies.connect(w.researcher).publishResult(studyId, runId, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyResultExists")
        .withArgs(studyId, runId, result);
    });

    it("before the deadline with a custodian missing, the contributor set is not final (StudyRunStillOpen)", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(contributedWorld);
      const r = await w.studies.getRun(studyId, runId);
      await expect(
        w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, randomId(), digestOf([w.org.hospitalA])),
      )
        .to.be.revertedWithCustomError(w.studies, "StudyRunStillOpen")
        .withArgs(studyId, runId, r.deadline, 1);
    });

    it("a custodian that timed out leaves too few contributors: no server can publish (StudyTooFewContributions)", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(contributedWorld);
      await time.increaseTo((await w.studies.getRun(studyId, runId)).deadline);
      await expect(
        w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, randomId(), digestOf([w.org.hospitalA])),
      )
        .to.be.revertedWithCustomError(w.studies, "StudyTooFewContributions")
        .withArgs(studyId, runId, 1, 2);
    });

    it("only a run's server, from its own account, over the recorded contributors, with a non-zero commitment", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(contributedWorld);
      await (
        await w.studies.connect(w.steward.get(w.org.hospitalB)).commitContribution(studyId, runId, 3, commitments(3))
      ).wait();
      const digest = digestOf([w.org.hospitalA, w.org.hospitalB]);
      // A keyholder admitted after the run opened is not one of its servers.
      const late = w.stranger;
      await (await w.keyholders.addKeyholder(w.org.lab, late.address, randomId(), "http://127.0.0.1:9009")).wait();
      for (const [who, id] of [
        [w.kh[1]!, 1],
        [w.stranger, 1],
        [late, 4],
      ] as const) {
        await expect(w.studies.connect(who).publishSumShare(studyId, runId, id, randomId(), digest))
          .to.be.revertedWithCustomError(w.studies, "StudyNotServer")
          .withArgs(studyId, runId, id, who.address);
      }
      const wrong = digestOf([w.org.hospitalB, w.org.hospitalA]);
      await expect(w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, randomId(), wrong))
        .to.be.revertedWithCustomError(w.studies, "StudyContributorsMismatch")
        .withArgs(studyId, runId, digest, wrong);
      await expect(w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, ZeroHash, digest))
        .to.be.revertedWithCustomError(w.studies, "StudyZeroValue")
        .withArgs("commitment");
      await expect(w.studies.connect(w.kh[0]).publishSumShare(studyId, 7, 1, randomId(), digest))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknownRun")
        .withArgs(studyId, 7);
      await expect(w.studies.connect(w.researcher).publishResult(studyId, 7, randomId()))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknownRun")
        .withArgs(studyId, 7);
      await (await w.studies.connect(w.boardMember).closeStudy(studyId)).wait();
      await expect(w.studies.connect(w.kh[0]).publishSumShare(studyId, runId, 1, randomId(), digest))
        .to.be.revertedWithCustomError(w.studies, "StudyIsClosed")
        .withArgs(studyId, (await w.studies.getStudy(studyId)).closedAt);
    });
  });

  describe("study reads (RecordRegistry.accessForStudy) and research consents (ConsentRegistry.checkStudy)", () => {
    it("logs each consenting subject's reads with the study's purpose, basis STUDY and the study id", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      const steward = w.steward.get(w.org.hospitalA)!;
      const reads = readsAt(w.org.hospitalA, w.patients);
      expect(await w.records.connect(steward).accessForStudy.staticCall(studyId, runId, reads)).to.equal(4n);
      const tx = w.records.connect(steward).accessForStudy(studyId, runId, reads);
      for (const p of w.patients) {
        for (const r of p.records.get(w.org.hospitalA)!) {
          await expect(tx)
            .to.emit(w.records, "RecordAccessed")
            .withArgs(p.subject, r.recordId, steward.address, Purpose.HRESCH, StudyBasis.STUDY, studyId);
        }
      }
      const receipt = await (await tx).wait();
      expect(receipt!.logs.length).to.equal(8);
    });

    it("skips, silently, subjects without a research consent or with a deny (denies win); logs the others", async () => {
      const w = await networkHelpers.loadFixture(world);
      const studyId = await approvedStudy(w);
      const [consenting, silent, denying, both] = w.patients as [
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
      ];
      await grantResearch(w, consenting);
      await grantResearch(w, denying, { effect: Effect.DENY, categories: ["OBSERVATIONS"] });
      await grantResearch(w, both);
      await grantResearch(w, both, { effect: Effect.DENY, org: w.org.institute, categories: ["DEMOGRAPHICS"] });
      const runId = await openRun(w, studyId);
      const steward = w.steward.get(w.org.hospitalB)!;
      const reads = readsAt(w.org.hospitalB, [consenting, silent, denying, both]);
      expect(await w.records.connect(steward).accessForStudy.staticCall(studyId, runId, reads)).to.equal(1n);
      const receipt = await (await w.records.connect(steward).accessForStudy(studyId, runId, reads)).wait();
      const subjects = receipt!.logs.map((l) => w.records.interface.parseLog(l)!.args.subject as string);
      expect(subjects).to.deep.equal([consenting.subject, consenting.subject]);
      // The views say why.
      const cats = categoryMask(["OBSERVATIONS", "DEMOGRAPHICS"]);
      const check = (p: { subject: string }) => w.consents.checkStudy(p.subject, w.org.institute, cats, Purpose.HRESCH);
      expect((await check(silent)).reason).to.equal(BigInt(Reason.NO_CONSENT));
      expect((await check(denying)).reason).to.equal(BigInt(Reason.DENIED_BY_SUBJECT));
      expect((await check(both)).reason).to.equal(BigInt(Reason.DENIED_BY_SUBJECT));
      const ok = await check(consenting);
      expect([ok.allowed, ok.basis]).to.deep.equal([true, 1n]);
    });

    it("scopes: a consent or deny naming another research organization, purpose or category does not apply", async () => {
      const w = await networkHelpers.loadFixture(world);
      const [p0, p1, p2, p3] = w.patients as [
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
      ];
      await grantResearch(w, p0, { org: w.org.institute2 }); // another institute's studies only
      await grantResearch(w, p1, { purposes: purposeMask(["CLINTRCH"]) }); // trials only
      await grantResearch(w, p2, { categories: ["OBSERVATIONS"] }); // does not cover demographics
      await grantResearch(w, p2, { categories: ["DEMOGRAPHICS"], org: w.org.institute }); // … now it does
      await grantResearch(w, p3, { org: w.org.institute });
      await grantResearch(w, p3, { effect: Effect.DENY, org: w.org.institute2 }); // deny for someone else
      await grantResearch(w, p3, { effect: Effect.DENY, purposes: purposeMask(["CLINTRCH"]) }); // other purpose
      await grantResearch(w, p3, { effect: Effect.DENY, categories: ["IMAGING"] }); // other category
      const cats = categoryMask(["OBSERVATIONS", "DEMOGRAPHICS"]);
      const reasons = await Promise.all(
        [p0, p1, p2, p3].map(
          async (p) => (await w.consents.checkStudy(p.subject, w.org.institute, cats, Purpose.HRESCH)).reason,
        ),
      );
      expect(reasons).to.deep.equal([BigInt(Reason.NO_CONSENT), BigInt(Reason.PURPOSE_NOT_ALLOWED), 0n, 0n]);
      // Only the OBSERVATIONS permit of p2: the demographics are not covered.
      expect((await w.consents.checkStudy(p2.subject, w.org.institute2, cats, Purpose.HRESCH)).reason).to.equal(
        BigInt(Reason.CATEGORY_NOT_COVERED),
      );
      // The any-organization list alone (researchOrg 0).
      expect(
        (await w.consents.checkStudy(p2.subject, 0, categoryMask(["OBSERVATIONS"]), Purpose.HRESCH)).allowed,
      ).to.equal(true);
      // "Other-purpose study refused": a CLINTRCH study does not reach p0, p2 or p3 (HRESCH consents).
      const trial = await approvedStudy(w, await studyParams(w, { purpose: Purpose.CLINTRCH }));
      const runId = await openRun(w, trial);
      const steward = w.steward.get(w.org.hospitalA)!;
      const reads = readsAt(w.org.hospitalA, [p0, p1, p2, p3]);
      const receipt = await (await w.records.connect(steward).accessForStudy(trial, runId, reads)).wait();
      const logged = new Set(receipt!.logs.map((l) => w.records.interface.parseLog(l)!.args.subject as string));
      expect([...logged]).to.deep.equal([p1.subject]);
    });

    it("consents in force at the time of the read: revoked, expired and not-yet-valid permits do not count", async () => {
      const w = await networkHelpers.loadFixture(world);
      const now = await w.now();
      const [p0, p1, p2] = w.patients as [
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
        ResearchWorld["patients"][0],
      ];
      const revoked = await grantResearch(w, p0);
      await grantResearch(w, p1, { validUntil: now + 1000 });
      const future = await grantResearch(w, p2, { validFrom: now + 10 * DAY });
      await (await w.consents.connect(p0.controller).revoke(p0.subject, revoked)).wait();
      await time.increase(2000);
      const cats = categoryMask(["OBSERVATIONS"]);
      const decisions = await Promise.all(
        [p0, p1, p2].map((p) => w.consents.checkStudy(p.subject, w.org.institute, cats, Purpose.HRESCH)),
      );
      expect(decisions.map((d) => d.reason)).to.deep.equal([
        BigInt(Reason.NO_CONSENT),
        BigInt(Reason.CONSENT_EXPIRED),
        BigInt(Reason.CONSENT_NOT_YET_VALID),
      ]);
      expect(decisions[2]!.consentId).to.equal(future);
      // A deny that has expired binds no more; a revoked deny neither.
      const deny = await grantResearch(w, p1, { effect: Effect.DENY });
      await grantResearch(w, p1);
      expect((await w.consents.checkStudy(p1.subject, w.org.institute, cats, Purpose.HRESCH)).consentId).to.equal(deny);
      await (await w.consents.connect(p1.controller).revoke(p1.subject, deny)).wait();
      expect((await w.consents.checkStudy(p1.subject, w.org.institute, cats, Purpose.HRESCH)).allowed).to.equal(true);
    });

    it("checkStudy refuses non-research purposes and an empty category mask", async () => {
      const w = await networkHelpers.loadFixture(world);
      const s = w.patients[0]!.subject;
      expect((await w.consents.checkStudy(s, w.org.institute, 1, Purpose.TREAT)).reason).to.equal(
        BigInt(Reason.INVALID_PURPOSE),
      );
      expect((await w.consents.checkStudy(s, w.org.institute, 1, 10)).reason).to.equal(BigInt(Reason.INVALID_PURPOSE));
      expect((await w.consents.checkStudy(s, w.org.institute, 0, Purpose.HRESCH)).reason).to.equal(
        BigInt(Reason.CATEGORY_NOT_COVERED),
      );
    });

    it("refuses reads of another custodian's record or outside the study's categories, unknown or erased records, bad batch sizes", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      const steward = w.steward.get(w.org.hospitalA)!;
      const p = w.patients[0]!;
      const bRecord = p.records.get(w.org.hospitalB)![0]!.recordId;
      await expect(
        w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: [bRecord] }]),
      )
        .to.be.revertedWithCustomError(w.records, "RecordNotCustodian")
        .withArgs(p.subject, bRecord, w.org.hospitalB, w.org.hospitalA);
      const imaging = randomId();
      await (
        await w.records
          .connect(w.clinician.get(w.org.hospitalA))
          .anchorRecord(p.subject, imaging, Category.IMAGING, randomId(), randomId(), ZeroHash, "ptr", ZeroHash)
      ).wait();
      await expect(
        w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: [imaging] }]),
      )
        .to.be.revertedWithCustomError(w.records, "RecordCategoryOutsideStudy")
        .withArgs(studyId, p.subject, imaging, Category.IMAGING);
      const unknown = randomId();
      await expect(
        w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: [unknown] }]),
      )
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(p.subject, unknown, steward.address, Reason.RECORD_UNKNOWN, ZeroHash);
      const aRecord = p.records.get(w.org.hospitalA)![0]!.recordId;
      await (await w.records.connect(p.controller).eraseRecord(p.subject, aRecord)).wait();
      await expect(
        w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: [aRecord] }]),
      )
        .to.be.revertedWithCustomError(w.records, "AccessDenied")
        .withArgs(p.subject, aRecord, steward.address, Reason.RECORD_ERASED, ZeroHash);
      await expect(w.records.connect(steward).accessForStudy(studyId, runId, []))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, 256);
      await expect(w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: [] }]))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(0, 256);
      const many = Array.from({ length: 257 }, () => unknown);
      await expect(w.records.connect(steward).accessForStudy(studyId, runId, [{ subject: p.subject, recordIds: many }]))
        .to.be.revertedWithCustomError(w.records, "AccessInvalidBatchSize")
        .withArgs(257, 256);
    });

    it("refuses reads for an unapproved, closed, ended or finished-run study, and by non-custodians", async () => {
      const w = await networkHelpers.loadFixture(world);
      for (const p of w.patients) await grantResearch(w, p);
      const steward = w.steward.get(w.org.hospitalA)!;
      const reads = readsAt(w.org.hospitalA, w.patients.slice(0, 1));
      const unapproved = await registerStudy(w);
      await expect(w.records.connect(steward).accessForStudy(unapproved, 1, reads))
        .to.be.revertedWithCustomError(w.studies, "StudyNotApproved")
        .withArgs(unapproved);
      const studyId = await approvedStudy(w, await studyParams(w, { validUntil: (await w.now()) + 2 * DAY }));
      const runId = await openRun(w, studyId, 600);
      for (const [who, orgId] of [
        [w.steward.get(w.org.lab)!, w.org.lab],
        [w.clinician.get(w.org.hospitalA)!, w.org.hospitalA],
        [w.researcher, w.org.institute],
      ] as const) {
        await expect(w.records.connect(who).accessForStudy(studyId, runId, reads))
          .to.be.revertedWithCustomError(w.studies, "StudyNotCustodian")
          .withArgs(studyId, who.address, orgId);
      }
      await expect(w.records.connect(steward).accessForStudy(studyId, 5, reads))
        .to.be.revertedWithCustomError(w.studies, "StudyUnknownRun")
        .withArgs(studyId, 5);
      const deadline = (await w.studies.getRun(studyId, runId)).deadline;
      await time.increaseTo(deadline);
      await expect(w.records.connect(steward).accessForStudy(studyId, runId, reads))
        .to.be.revertedWithCustomError(w.studies, "StudyRunClosed")
        .withArgs(studyId, runId, deadline);
      // ANY_RUN (the keyholders' release-time check) ignores the run's deadline.
      expect(await w.studies.studyAccessTerms(studyId, 0, steward.address)).to.deep.equal([
        BigInt(Purpose.HRESCH),
        BigInt(categoryMask(["OBSERVATIONS", "DEMOGRAPHICS"])),
        BigInt(w.org.institute),
        BigInt(w.org.hospitalA),
      ]);
      const s = await w.studies.getStudy(studyId);
      await time.increaseTo(s.validUntil);
      await expect(w.records.connect(steward).accessForStudy(studyId, runId, reads))
        .to.be.revertedWithCustomError(w.studies, "StudyNotInWindow")
        .withArgs(studyId, s.validFrom, s.validUntil, s.validUntil + 1n);
    });

    it("research consents: STUDY grantee terms are checked, and a STUDY permit never lets anyone read directly", async () => {
      const w = await networkHelpers.loadFixture(world);
      const p = w.patients[0]!;
      const g = w.consents.connect(p.controller);
      const base = researchTerms();
      const cases: [Record<string, unknown>, string, unknown][] = [
        [{ granteeAccount: w.researcher.address }, "ConsentInvalidTerms", "granteeAccount"],
        [{ granteeRoles: Role.RESEARCHER }, "ConsentInvalidTerms", "granteeRoles"],
        [{ purposes: purposeMask(["HRESCH", "TREAT"]) }, "ConsentInvalidTerms", "purposes"],
        [{ actions: Action.READ | Action.APPEND }, "ConsentInvalidTerms", "actions"],
        [{ granteeOrg: w.org.hospitalA }, "ConsentInvalidTerms", "granteeOrg"],
        [{ granteeOrg: 99 }, "ConsentUnknownOrganization", 99],
      ];
      for (const [override, error, arg] of cases) {
        await expect(g.grant(p.subject, { ...base, ...override }))
          .to.be.revertedWithCustomError(w.consents, error)
          .withArgs(arg);
      }
      const id = await grantResearch(w, p, { org: w.org.institute });
      expect(
        await w.consents.listedConsents(p.subject, Effect.PERMIT, StudyGrantee.STUDY, w.org.institute),
      ).to.deep.equal([id]);
      // Neither the researcher nor a custodian reads under it, hinted or not.
      const record = p.records.get(w.org.hospitalA)![0]!.recordId;
      for (const who of [w.researcher, w.steward.get(w.org.hospitalA)!]) {
        const d = await w.consents.checkWithHint(
          who.address,
          p.subject,
          Category.OBSERVATIONS,
          Purpose.HRESCH,
          Action.READ,
          id,
        );
        expect([d.allowed, d.reason]).to.deep.equal([false, BigInt(Reason.GRANTEE_MISMATCH)]);
        await expect(
          w.records.connect(who).access(p.subject, record, Purpose.HRESCH, id),
        ).to.be.revertedWithCustomError(w.records, "AccessDenied");
      }
      // An ordinary org-role permit is unaffected by the new kind.
      await (
        await g.grant(
          p.subject,
          terms({
            granteeKind: StudyGrantee.ORG_ROLE,
            granteeOrg: w.org.institute,
            granteeRoles: Role.RESEARCHER,
            purposes: purposeMask(["HRESCH"]),
          }),
        )
      ).wait();
      expect(
        (await w.consents.check(w.researcher.address, p.subject, Category.OBSERVATIONS, Purpose.HRESCH, Action.READ))
          .allowed,
      ).to.equal(true);
    });
  });

  describe("audit: every study, approval, run, contribution, sum-share and result rebuilt from events alone", () => {
    it("equals the views field by field", async () => {
      const { w, studyId, runId } = await networkHelpers.loadFixture(runningWorld);
      const other = await registerStudy(
        w,
        await studyParams(w, { custodians: [w.org.hospitalA, w.org.hospitalB, w.org.lab] }),
      );
      await (await w.studies.connect(w.researcher).closeStudy(other)).wait();
      await (
        await w.studies.connect(w.steward.get(w.org.hospitalA)).commitContribution(studyId, runId, 4, commitments(3))
      ).wait();
      await (
        await w.studies.connect(w.steward.get(w.org.hospitalB)).commitContribution(studyId, runId, 2, commitments(3))
      ).wait();
      const digest = digestOf([w.org.hospitalA, w.org.hospitalB]);
      for (let i = 0; i < 3; i++)
        await (await w.studies.connect(w.kh[i]).publishSumShare(studyId, runId, i + 1, randomId(), digest)).wait();
      await (await w.studies.connect(w.researcher).publishResult(studyId, runId, randomId())).wait();
      await openRun(w, studyId);

      const logs = await w.conn.ethers.provider.getLogs({ address: await w.studies.getAddress(), fromBlock: 0 });
      const state = replayStudyEvents(
        logs.map((l) => {
          const d = w.studies.interface.parseLog(l)!;
          return { name: d.name, args: d.args };
        }),
      );
      expect(state.studies.size).to.equal(2);
      for (const [id, s] of state.studies) {
        const v = await w.studies.getStudy(id);
        expect({
          researcher: s.researcher,
          researchOrg: s.researchOrg,
          purpose: s.purpose,
          categories: s.categories,
          cells: s.cells,
          minCellSize: s.minCellSize,
          minCustodians: s.minCustodians,
          maxRuns: s.maxRuns,
          runCount: s.runs.size,
          epsilonMilli: s.epsilonMilli,
          validFrom: s.validFrom,
          validUntil: s.validUntil,
          approvedBy: s.approval?.boardOrg ?? 0,
          approver: s.approval?.approver ?? ZeroAddress,
          approvalDigest: s.approval?.approvalDigest ?? ZeroHash,
          closed: s.closedAt !== undefined,
          protocolDigest: s.protocolDigest,
          queryDigest: s.queryDigest,
        }).to.deep.equal({
          researcher: v.researcher,
          researchOrg: Number(v.researchOrg),
          purpose: Number(v.purpose),
          categories: Number(v.categories),
          cells: Number(v.cells),
          minCellSize: Number(v.minCellSize),
          minCustodians: Number(v.minCustodians),
          maxRuns: Number(v.maxRuns),
          runCount: Number(v.runCount),
          epsilonMilli: Number(v.epsilonMilli),
          validFrom: Number(v.validFrom),
          validUntil: Number(v.validUntil),
          approvedBy: Number(v.approvedBy),
          approver: v.approver,
          approvalDigest: v.approvalDigest,
          closed: v.closedAt !== 0n,
          protocolDigest: v.protocolDigest,
          queryDigest: v.queryDigest,
        });
        expect(s.custodians).to.deep.equal((await w.studies.studyCustodians(id)).map(Number));
        for (const [n, run] of s.runs) {
          const r = await w.studies.getRun(id, n);
          expect([run.deadline, run.keyholderEpoch, run.servers, run.resultDigest ?? ZeroHash]).to.deep.equal([
            Number(r.deadline),
            r.keyholderEpoch,
            r.servers.map(Number),
            r.resultDigest,
          ]);
          expect([...run.contributions.keys()]).to.deep.equal(r.contributors.map(Number));
          for (const [orgId, c] of run.contributions) {
            const [contributor, , subjects, hash] = await w.studies.getContribution(id, n, orgId);
            expect([c.contributor, c.subjects, keccak256(coder.encode(["bytes32[]"], [c.commitments]))]).to.deep.equal([
              contributor,
              Number(subjects),
              hash,
            ]);
          }
          expect(run.sumShares.size).to.equal(Number(r.sumShares));
          for (const [kh, share] of run.sumShares) {
            expect((await w.studies.getSumShare(id, n, kh))[0]).to.equal(share.commitment);
            expect(share.contributorsDigest).to.equal(await w.studies.contributorsDigest(id, n));
          }
        }
      }
    });
  });
});
