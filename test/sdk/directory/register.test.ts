/**
 * Subject ids on contracts 1.1 are derived from the registrant and a salt. The SDK derives the id
 * locally before it sends, and a retry that finds the id registered adopts it only if the
 * controller and key on chain are the ones asked for (issue 8 finding 7): never "the id exists,
 * so it must be ours".
 */
import { expect } from "chai";
import { network } from "hardhat";

import { ConflictError, createIdentity, directory, randomBytes32 } from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

async function world(): Promise<Consortium> {
  const [funder] = await conn.ethers.getSigners();
  return setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
}

describe("sdk/directory: derived subject ids", () => {
  it("the subject is derived from the registrant and the salt, locally and on chain alike", async () => {
    const c = await networkHelpers.loadFixture(world);
    const someone = await c.participant(createIdentity());
    const salt = randomBytes32();
    const { value: subject, receipt } = await someone.ml.directory.registerPatient({
      controller: someone.wallet.address,
      encryptionKey: someone.identity.x25519.publicKey,
      salt,
    });
    expect(receipt).to.not.equal(null);
    expect(subject).to.equal(directory.subjectIdFor(someone.wallet.address, salt));
    expect(subject).to.equal(await someone.ml.chain.directory.subjectIdFor(someone.wallet.address, salt));
    // A hospital admin registering the same salt obtains another id: nobody can claim someone's.
    expect(directory.subjectIdFor(c.hospitalAdmin.wallet.address, salt)).to.not.equal(subject);
    expect((await someone.ml.chain.directory.getPatient(subject)).controller).to.equal(someone.wallet.address);
  });

  it("a retry with the same salt adopts its registration only with the same controller and key", async () => {
    const c = await networkHelpers.loadFixture(world);
    const admin = c.hospitalAdmin.ml; // a sponsor registering for a patient
    const patient = createIdentity();
    const params = { controller: patient.address, encryptionKey: patient.x25519.publicKey, salt: randomBytes32() };
    const first = await admin.directory.registerPatient(params);
    const retry = await admin.directory.registerPatient(params);
    expect([retry.value, retry.receipt, retry.salt]).to.deep.equal([first.value, null, params.salt]);

    const otherKey = await admin.directory
      .registerPatient({ ...params, encryptionKey: createIdentity().x25519.publicKey })
      .catch((e: unknown) => e);
    expect(otherKey).to.be.instanceOf(ConflictError);
    expect([(otherKey as ConflictError).kind, (otherKey as ConflictError).id]).to.deep.equal(["subject", first.value]);
    const otherController = await admin.directory
      .registerPatient({ ...params, controller: createIdentity().address })
      .catch((e: unknown) => e);
    expect(otherController).to.be.instanceOf(ConflictError);
  });

  it("a guardian registers its own key (registerAccountKey)", async () => {
    const c = await networkHelpers.loadFixture(world);
    const guardian = await c.participant(createIdentity());
    const { value: version } = await guardian.ml.directory.registerAccountKey(guardian.identity.x25519.publicKey);
    expect(version).to.equal(1);
    const [key, keyVersion] = await guardian.ml.chain.directory.getAccountKey(guardian.wallet.address);
    expect([key, keyVersion]).to.deep.equal([
      `0x${Buffer.from(guardian.identity.x25519.publicKey).toString("hex")}`,
      1n,
    ]);
  });
});
