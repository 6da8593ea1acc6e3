import { expect } from "chai";
import { network } from "hardhat";

import { Action, Category, Purpose, anchor, buildWorld, grantHospitalAppend, terms } from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";

const conn = await network.create();
const { networkHelpers } = conn;

describe("smoke: the fixture deploys a working consortium", () => {
  async function world(): Promise<World> {
    return buildWorld(conn);
  }

  it("a doctor with a consent reads; a payer without one is refused with the reason", async () => {
    const w = await networkHelpers.loadFixture(world);
    const appendId = await grantHospitalAppend(w);
    const id = await anchor(w, { hint: appendId });
    await expect(w.records.connect(w.doctor).access(w.subject, id, Purpose.TREAT, appendId))
      .to.emit(w.records, "RecordAccessed")
      .withArgs(w.subject, id, w.doctor.address, Purpose.TREAT, 1, appendId);
    await expect(w.records.connect(w.payerAgent).access(w.subject, id, Purpose.HPAYMT, appendId))
      .to.be.revertedWithCustomError(w.records, "AccessDenied")
      .withArgs(w.subject, id, w.payerAgent.address, 8 /* GRANTEE_MISMATCH */, appendId);
    const d = await w.consents.check(w.doctor.address, w.subject, Category.OBSERVATIONS, Purpose.TREAT, Action.READ);
    expect(d.allowed).to.equal(true);
    expect(terms().actions).to.equal(Action.READ);
  });
});
