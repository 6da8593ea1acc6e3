/**
 * The one seam between the record actions and key custody (sdk/records/custody.ts): what
 * `records.put/get/erase` call, in which order relative to the chain, and that the keyholder
 * network's client fits it as it is (checked by the type checker below).
 */
import { expect } from "chai";
import { network } from "hardhat";

import { KeyReleaseError, MedLedger, memoryJournal, records } from "../../../sdk/index.js";
import type { RecordCustody } from "../../../sdk/index.js";
import type { KeyholderNetwork } from "../../../sdk/keyholder/client.js";
import { networkCustody } from "../../../sdk/records/custody.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium, Participant } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

/** The keyholder network's client fits the seam through the adapter (`custody: network` applies it). */
export const networkIsACustody = (n: KeyholderNetwork): RecordCustody => networkCustody(n);

async function world(): Promise<Consortium> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.admit(["NOTES"]);
  return c;
}

/** A participant whose custody is its default one, wrapped to log each call with the chain's state. */
async function spied(c: Consortium, p: Participant, log: string[], refusePreflight = false): Promise<MedLedger> {
  const inner = p.ml.context.custody;
  const ml = await MedLedger.create({ ...p.ml.options, journal: memoryJournal(), custody: inner });
  const ctx = ml.context;
  const anchored = async (s: string, id: string) =>
    (await records.readAnchor(ctx, s as never, id as never)) === undefined ? "unanchored" : "anchored";
  const accesses = async (id: string) => {
    const r = ctx.chain.records;
    return (await r.queryFilter(r.filters.RecordAccessed(c.subject, id), 0)).length;
  };
  const custody: RecordCustody = {
    kind: inner.kind,
    async deposit(q) {
      log.push(`deposit ${await anchored(q.subject, q.recordId)} custodian=${q.custodian}`);
      return inner.deposit(q);
    },
    async preflight(q) {
      log.push(`preflight accesses=${await accesses(q.recordId)} custodian=${q.custodian}`);
      if (refusePreflight) throw new KeyReleaseError("NO_KEYHOLDER", "refused by the test custody");
      return inner.preflight(q);
    },
    async release(q) {
      log.push(`release accesses=${await accesses(q.recordId)}`);
      return inner.release(q);
    },
    async erase(q) {
      const state = await records.readAnchor(ctx, q.subject as never, q.recordId as never);
      log.push(`erase erased=${state!.erasedAt !== 0}`);
      return inner.erase(q);
    },
    async retire(q) {
      log.push(`retire`);
      return inner.retire(q);
    },
  };
  return MedLedger.create({ ...p.ml.options, journal: memoryJournal(), custody });
}

describe("sdk/records: the key custody seam", () => {
  it("put deposits before the anchor; get preflights before the access and releases after it; erase after the tombstone", async () => {
    const c = await networkHelpers.loadFixture(world);
    const log: string[] = [];
    const doctor = await spied(c, c.doctor, log);
    const patient = await spied(c, c.patient, log);
    const id = await doctor.records.put(c.subject, "seam note", { category: "NOTES", mediaType: "text/plain" });
    const read = await patient.records.get(c.subject, id, { purpose: "PATRQT" });
    expect(new TextDecoder().decode(read.content)).to.equal("seam note");
    await patient.records.erase(c.subject, id);
    expect(log).to.deep.equal([
      `deposit unanchored custodian=${c.hospital}`,
      `preflight accesses=0 custodian=${c.hospital}`,
      "release accesses=1",
      "erase erased=true",
    ]);
  });

  it("a preflight refusal logs nothing on chain", async () => {
    const c = await networkHelpers.loadFixture(world);
    const id = await c.doctor.ml.records.put(c.subject, "not to be read", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    const patient = await spied(c, c.patient, [], true);
    const block = await conn.ethers.provider.getBlockNumber();
    const err = await patient.records.get(c.subject, id, { purpose: "PATRQT" }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyReleaseError);
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(block);
  });
});
