/**
 * The embedded default: the same keyholder cores in process (no HTTP), against anvil and
 * contracts 1.1, through the same KeyholderNetwork client.
 */
import { expect } from "chai";
import { hexlify, randomBytes } from "ethers";

import type { Hex } from "../../../sdk/types.js";

import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import { sealLabels } from "../../../sdk/sealed/commitments.js";
import { PURPOSE, startKeyholderWorld } from "../../../fixtures/keyholders.js";
import type { KeyholderWorld } from "../../../fixtures/keyholders.js";

describe("keyholder network in process (embedded default)", function () {
  this.timeout(300_000);
  let w: KeyholderWorld;
  before(async () => {
    w = await startKeyholderWorld({ n: 3, k: 2, inProcess: true, config: { pendingTtlSeconds: 1 } });
  });
  after(async () => w?.stop());

  it("deposits, preflights, releases after the access and refuses without one", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    await w.network.preflight({ reader: w.doctor.wallet, subject: w.subject, recordId, purpose: PURPOSE.TREAT });
    const tx = await w.access(w.doctor, recordId);
    const key = await w.network.release({
      reader: w.doctor.wallet,
      readerKeys: w.doctor.keys,
      subject: w.subject,
      recordId,
      accessTx: tx,
    });
    expect(key).to.deep.equal(dataKey);
    const err = await w.network
      .release({ reader: w.nurse.wallet, readerKeys: w.nurse.keys, subject: w.subject, recordId, accessTx: tx })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyReleaseRefusedError);
    // The custodian keyholder is asked first; it refuses, so no other keyholder is asked.
    expect(Object.values((err as KeyReleaseRefusedError).codes())).to.deep.equal(["ACCESS_NOT_YOURS"]);
  });

  it("pending shares of a record never anchored expire after the TTL; anchored ones become active", async () => {
    const orphan = hexlify(randomBytes(32)) as Hex;
    await w.network.deposit({
      writer: w.doctor.wallet,
      subject: w.subject,
      recordId: orphan,
      dataKey: randomBytes(32),
      labels: sealLabels({ subject: w.subject, recordId: orphan, labels: 0 }),
      custodian: w.orgs.a,
    });
    const { recordId, dataKey } = await w.writeRecord();
    await new Promise((r) => setTimeout(r, 2100));
    for (const core of w.cores) expect(await core.sweepPending()).to.be.greaterThanOrEqual(1);
    const err = await w.network
      .preflight({ reader: w.doctor.wallet, subject: w.subject, recordId: orphan, purpose: PURPOSE.TREAT })
      .catch((e: unknown) => e);
    expect(Object.values((err as KeyReleaseRefusedError).codes())).to.deep.equal([
      "UNKNOWN_RECORD",
      "UNKNOWN_RECORD",
      "UNKNOWN_RECORD",
    ]);
    const tx = await w.access(w.doctor, recordId);
    expect(
      await w.network.release({
        reader: w.doctor.wallet,
        readerKeys: w.doctor.keys,
        subject: w.subject,
        recordId,
        accessTx: tx,
      }),
    ).to.deep.equal(dataKey);
  });
});
