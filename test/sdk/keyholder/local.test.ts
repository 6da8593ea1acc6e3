/**
 * The embedded default: the same keyholder cores in process (no HTTP), against anvil and
 * contracts 1.1, through the same KeyholderNetwork client.
 */
import { expect } from "chai";

import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import { PURPOSE, startKeyholderWorld } from "../../../fixtures/keyholders.js";
import type { KeyholderWorld } from "../../../fixtures/keyholders.js";

describe("keyholder network in process (embedded default)", function () {
  this.timeout(300_000);
  let w: KeyholderWorld;
  before(async () => {
    w = await startKeyholderWorld({ n: 3, k: 2, inProcess: true });
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
    expect(Object.values((err as KeyReleaseRefusedError).codes())).to.deep.equal([
      "ACCESS_NOT_YOURS",
      "ACCESS_NOT_YOURS",
      "ACCESS_NOT_YOURS",
    ]);
  });
});
