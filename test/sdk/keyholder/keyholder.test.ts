import { expect } from "chai";
import { JsonRpcProvider, ZeroHash, getBytes } from "ethers";
import type { Wallet } from "ethers";
import { network } from "hardhat";

import {
  KeyReleaseError,
  MedLedger,
  Purpose,
  RpcError,
  createKeyholder,
  envelopeContext,
  keyReleaseMessage,
  memorySlotStore,
  unwrapDataKey,
} from "../../../sdk/index.js";
import type { KeyReleaseReason, Keyholder, RecordId } from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

describe("keyholder: no logged access, no key", () => {
  async function world(): Promise<{ c: Consortium; id: RecordId; hospital: Keyholder }> {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["NOTES"],
      purposes: ["TREAT"],
      actions: ["APPEND", "READ"],
    });
    const id = await c.doctor.ml.records.put(c.subject, "discharge note", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    return { c, id, hospital: c.keyholders.get(c.hospital)! };
  }

  async function accessBy(c: Consortium, who: "doctor" | "patient", id: RecordId): Promise<string> {
    const ml = c[who].ml;
    const purpose = who === "doctor" ? Purpose.TREAT : Purpose.PATRQT;
    return (await ml.chain.send(ml.chain.records.access.populateTransaction(c.subject, id, purpose, ZeroHash))).receipt
      .hash;
  }

  async function request(c: Consortium, signer: Wallet, reader: string, id: RecordId, tx: string, orgId = c.hospital) {
    const message = keyReleaseMessage({ recordId: id, accessTxHash: tx, chainId: 31337n, orgId });
    return { subject: c.subject, recordId: id, reader, accessTxHash: tx, signature: await signer.signMessage(message) };
  }

  /** The reason code of a refusal (tests match codes, never message text). */
  async function refusal(p: Promise<unknown>): Promise<KeyReleaseReason> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(KeyReleaseError);
    return (err as KeyReleaseError).reason;
  }

  for (const who of ["doctor", "patient"] as const) {
    it(
      who === "doctor"
        ? "releases the key, re-wrapped for the reader, after the reader's logged access"
        : "gives the subject their own slot after the subject's logged access",
      async () => {
        const { c, id, hospital } = await networkHelpers.loadFixture(world);
        const tx = await accessBy(c, who, id);
        const slot = await hospital.release(await request(c, c[who].wallet, c[who].wallet.address, id, tx));
        const context = envelopeContext(c[who].ml.context, id, c.subject);
        const recipientPrivateKey = c[who].identity.x25519.privateKey;
        expect(unwrapDataKey({ slot: getBytes(slot), recipientPrivateKey, context })).to.have.length(32);
      },
    );
  }

  it("refuses a request not signed by the reader", async () => {
    const { c, id, hospital } = await networkHelpers.loadFixture(world);
    const tx = await accessBy(c, "doctor", id);
    const forged = await request(c, c.payerAgent.wallet, c.doctor.wallet.address, id, tx);
    expect(await refusal(hospital.release(forged))).to.equal("NOT_SIGNED_BY_READER");
    const garbage = { ...forged, signature: "0x1234" };
    expect(await refusal(hospital.release(garbage))).to.equal("BAD_SIGNATURE");
  });

  it("refuses someone else's access transaction, a transaction that logs no access, and an unknown one", async () => {
    const { c, id, hospital } = await networkHelpers.loadFixture(world);
    const doctorsTx = await accessBy(c, "doctor", id);
    const other = await request(c, c.responder.wallet, c.responder.wallet.address, id, doctorsTx);
    expect(await refusal(hospital.release(other))).to.equal("NO_ACCESS_LOGGED");
    const { receipt } = await c.patient.ml.consent.grant(c.subject, {
      grantee: { practitioner: c.doctor.wallet.address },
      categories: ["NOTES"],
      purposes: ["TREAT"],
    });
    const notAnAccess = await request(c, c.doctor.wallet, c.doctor.wallet.address, id, receipt.hash);
    expect(await refusal(hospital.release(notAnAccess))).to.equal("NO_ACCESS_LOGGED");
    const unknown = await request(c, c.doctor.wallet, c.doctor.wallet.address, id, `0x${"ab".repeat(32)}`);
    expect(await refusal(hospital.release(unknown))).to.equal("NO_ACCESS_TRANSACTION");
  });

  it("refuses an access to the same record id of another subject (records are keyed by subject)", async () => {
    const { c, id, hospital } = await networkHelpers.loadFixture(world);
    const tx = await accessBy(c, "doctor", id);
    const req = await request(c, c.doctor.wallet, c.doctor.wallet.address, id, tx);
    expect(await refusal(hospital.release({ ...req, subject: `0x${"77".repeat(32)}` as typeof req.subject }))).to.equal(
      "NO_ACCESS_LOGGED",
    );
  });

  it("refuses an access older than its window, and a request for another record", async () => {
    const { c, id, hospital } = await networkHelpers.loadFixture(world);
    const tx = await accessBy(c, "doctor", id);
    const other = await c.doctor.ml.records.put(c.subject, "another note", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    expect(
      await refusal(hospital.release(await request(c, c.doctor.wallet, c.doctor.wallet.address, other, tx))),
    ).to.equal("NO_ACCESS_LOGGED");
    await networkHelpers.time.increase(601);
    await networkHelpers.mine();
    expect(
      await refusal(hospital.release(await request(c, c.doctor.wallet, c.doctor.wallet.address, id, tx))),
    ).to.equal("ACCESS_TOO_OLD");
  });

  it("refuses when it is not the custodian, after erasure, and once the slots are shredded", async () => {
    const { c, id, hospital } = await networkHelpers.loadFixture(world);
    const tx = await accessBy(c, "doctor", id);
    const payerKeyholder = c.keyholders.get(c.payer)!;
    const toPayer = await request(c, c.doctor.wallet, c.doctor.wallet.address, id, tx, c.payer);
    expect(await refusal(payerKeyholder.release(toPayer))).to.equal("NOT_CUSTODIAN");

    const ok = await request(c, c.doctor.wallet, c.doctor.wallet.address, id, tx);
    await hospital.shred(id);
    expect(await refusal(hospital.release(ok))).to.equal("NO_KEY_SLOTS");

    const second = await c.doctor.ml.records.put(c.subject, "third note", {
      category: "NOTES",
      mediaType: "text/plain",
    });
    const tx2 = await accessBy(c, "doctor", second);
    await c.patient.ml.chain.send(c.patient.ml.chain.records.eraseRecord.populateTransaction(c.subject, second));
    expect(
      await refusal(hospital.release(await request(c, c.doctor.wallet, c.doctor.wallet.address, second, tx2))),
    ).to.equal("RECORD_ERASED");
  });

  it("an unreachable node is an RpcError, not a refusal; a reader without the custodian's keyholder gets NO_KEYHOLDER", async () => {
    const { c, id } = await networkHelpers.loadFixture(world);
    const tx = await accessBy(c, "doctor", id);
    // The keyholder's own node is down: that is an RPC failure, never "no access logged".
    const down = createKeyholder({
      orgId: c.hospital,
      privateKey: c.hospitalAdmin.identity.x25519.privateKey,
      provider: new JsonRpcProvider("http://127.0.0.1:9", 31337, { staticNetwork: true }),
      addressBook: c.addressBook,
      slots: memorySlotStore(),
    });
    const err = await down
      .release(await request(c, c.doctor.wallet, c.doctor.wallet.address, id, tx))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect(err).to.not.be.instanceOf(KeyReleaseError);

    const noKeyholders = await MedLedger.create({ ...c.doctor.ml.options, keyholders: new Map() });
    const before = await conn.ethers.provider.getBlockNumber();
    expect(await refusal(noKeyholders.records.get(c.subject, id, { purpose: "TREAT" }))).to.equal("NO_KEYHOLDER");
    // Refused by the custody's preflight: no access was logged for a read that could not complete.
    expect(await conn.ethers.provider.getBlockNumber()).to.equal(before);
  });
});
