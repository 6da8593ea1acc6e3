/**
 * Existence checks treat only the contract's specific "unknown" answer as absence; an RPC failure
 * is an RpcError and never "not there". On main, `getRecord(...).catch(() => null)` read any
 * failure as absence: a read during an outage answered "not anchored", and a resumed put during an
 * outage went on to anchor again.
 */
import { expect } from "chai";
import { Wallet, hexlify } from "ethers";
import type { Provider } from "ethers";
import { network } from "hardhat";

import {
  MedLedger,
  NotFoundError,
  RpcError,
  memoryJournal,
  newRecordId,
  newSubjectId,
  records,
} from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium, Participant } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

/** A provider whose JSON-RPC fails like an unreachable node while `down` is set. */
function flaky(inner: Provider): { provider: Provider; down: (on: boolean) => void } {
  let isDown = false;
  const provider = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === "send")
        return async (method: string, params: unknown[]) => {
          if (isDown) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
          return (value as (m: string, p: unknown[]) => Promise<unknown>).call(target, method, params);
        };
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { provider, down: (on) => (isDown = on) };
}

async function on(p: Participant, provider: Provider): Promise<MedLedger> {
  return MedLedger.create({
    ...p.ml.options,
    signer: new Wallet(hexlify(p.identity.signingKey), provider),
    journal: memoryJournal(),
  });
}

describe("sdk/records/locate: absence is the contract's answer, not an RPC failure", () => {
  async function world(): Promise<Consortium> {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["NOTES"],
      purposes: ["TREAT"],
      actions: ["APPEND", "READ"],
    });
    return c;
  }

  it("an unknown record is absent (RecordUnknown); an outage is an RpcError", async () => {
    const c = await networkHelpers.loadFixture(world);
    const id = await c.doctor.ml.records.put(c.subject, "located note", { category: "NOTES", mediaType: "text/plain" });
    const f = flaky(conn.ethers.provider);
    const patient = await on(c.patient, f.provider);
    expect(await records.readAnchor(patient.context, c.subject, newRecordId())).to.equal(undefined);
    expect((await records.readAnchor(patient.context, c.subject, id))?.subject).to.equal(c.subject);
    // The same record id under another subject is absent: records are keyed by (subject, id).
    expect(await records.readAnchor(patient.context, newSubjectId(), id)).to.equal(undefined);
    const unknown = await patient.records.verify(c.subject, newRecordId()).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(NotFoundError);

    f.down(true);
    for (const attempt of [
      () => records.readAnchor(patient.context, c.subject, id),
      () => patient.records.verify(c.subject, id),
      () => patient.records.get(c.subject, id, { purpose: "PATRQT" }),
      () => patient.records.history(c.subject, id),
    ]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RpcError);
      expect(err).to.not.be.instanceOf(NotFoundError);
    }
  });

  it("a retry of a stored-but-not-anchored put during an outage fails; it does not anchor again", async () => {
    const c = await networkHelpers.loadFixture(world);
    const f = flaky(conn.ethers.provider);
    const journal = memoryJournal();
    const doctor = await MedLedger.create({
      ...c.doctor.ml.options,
      signer: new Wallet(hexlify(c.doctor.identity.signingKey), f.provider),
      journal: {
        ...journal,
        // The node goes down right after the envelope is stored, before the anchor.
        put: async (key, entry) => {
          await journal.put(key, entry);
          if (entry.stage === "stored") f.down(true);
        },
      },
    });
    const opts = { category: "NOTES" as const, mediaType: "text/plain" };
    expect(await doctor.records.put(c.subject, "outage note", opts).catch((e: unknown) => e)).to.be.instanceOf(
      RpcError,
    );
    // Still down: the retry's existence check fails instead of reading "not anchored".
    expect(await doctor.records.put(c.subject, "outage note", opts).catch((e: unknown) => e)).to.be.instanceOf(
      RpcError,
    );
    f.down(false);
    const id = await doctor.records.put(c.subject, "outage note", opts);
    const r = c.doctor.ml.chain.records;
    expect(await r.queryFilter(r.filters.RecordAnchored(c.subject, id), 0)).to.have.length(1);
  });
});
