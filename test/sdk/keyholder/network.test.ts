/**
 * The keyholder network end to end on loopback: anvil, contracts 1.1, three keyholder services as
 * real processes (k = 2), the KeyholderNetwork client over HTTP. Chain writes are direct TypeChain
 * calls. The tests share one world and run in order: later ones suspend, revoke, erase and change
 * the keyholder set.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

import { expect } from "chai";
import { Wallet, ZeroHash, getBytes, hexlify, randomBytes } from "ethers";
import fc from "fast-check";

import type { Hex } from "../../../sdk/types.js";
import { generateX25519KeyPair } from "../../../sdk/crypto/keyslot.js";
import { KeyholderNetwork } from "../../../sdk/keyholder/client.js";
import type { KeyholderApi } from "../../../sdk/keyholder/core.js";
import { auditReleaseLog } from "../../../sdk/keyholder/log.js";
import { labelCommitment, sealLabels } from "../../../sdk/sealed/commitments.js";
import { OpeningKind, openPayload, secretBinding } from "../../../sdk/sealed/openings.js";
import { trustedShares } from "../../../sdk/keyholder/manifest.js";
import { KEY_RELEASE_TYPES, LOG_QUERY_TYPES, RefusalCodes } from "../../../sdk/keyholder/protocol.js";
import type { KeyReleaseRequest } from "../../../sdk/keyholder/protocol.js";
import { reshareAll } from "../../../sdk/keyholder/reshare.js";
import { combineShares, keyCheckValue, openShare, sealShare, shareCommitment } from "../../../sdk/keyholder/shares.js";
import { httpKeyholder } from "../../../sdk/keyholder/transport.js";
import { PURPOSE, startKeyholderWorld } from "../../../fixtures/keyholders.js";
import { refusal } from "./helpers.js";
import type { KeyholderProcess, KeyholderWorld, Person } from "../../../fixtures/keyholders.js";

const ZERO = ZeroHash as Hex;

/** The record a share belongs to, in the world's deployment. */
function refOf(w: KeyholderWorld, recordId: Hex) {
  return {
    chainId: w.chain.chainId,
    keyholderRegistry: w.chain.keyholderRegistry,
    recordRegistry: w.chain.recordRegistry,
    subject: w.subject,
    recordId,
  };
}

/**
 * `count` keyholders refused with `code` (a release asks the record's custodian keyholder first
 * and stops at its refusal: 1; a preflight, an erasure or a retirement asks all three).
 */
async function refusedBy(p: Promise<unknown>, code: string, count = 1): Promise<void> {
  const err = await refusal(p);
  const codes = err.failures.map((f) => f.code);
  expect(
    codes.filter((c) => c === code),
    err.message,
  ).to.have.length(count);
}

function sharesOf(
  kh: KeyholderProcess,
  recordId: Hex,
): { epoch: string; x: number; slot: Uint8Array; keyVersion: number }[] {
  const db = new DatabaseSync(join(kh.dataDir, "keyholder.db"), { readOnly: true });
  try {
    return (
      db.prepare("SELECT epoch, x, slot, key_version FROM shares WHERE record_id = ?").all(recordId) as Record<
        string,
        unknown
      >[]
    ).map((r) => ({
      epoch: r.epoch as string,
      x: Number(r.x),
      slot: new Uint8Array(r.slot as Uint8Array),
      keyVersion: Number(r.key_version),
    }));
  } finally {
    db.close();
  }
}

describe("keyholder network: three keyholder processes, k = 2, on anvil", function () {
  this.timeout(600_000);
  let w: KeyholderWorld;
  const read = (reader: Person, recordId: Hex, accessTx: Hex, network?: KeyholderNetwork) =>
    (network ?? w.network).release({
      reader: reader.wallet,
      readerKeys: reader.keys,
      subject: w.subject,
      recordId,
      accessTx,
    });

  before(async () => {
    w = await startKeyholderWorld({ n: 3, k: 2 });
  });
  after(async () => {
    await w?.stop();
  });

  it("full flow: deposit before the anchor, preflight, access, release of the exact key", async () => {
    for (const kh of w.keyholders) expect((await fetch(`${kh.url}/ready`)).status).to.equal(200);
    const { recordId, dataKey } = await w.writeRecord();
    await w.network.preflight({ reader: w.doctor.wallet, subject: w.subject, recordId, purpose: PURPOSE.TREAT });
    const tx = await w.access(w.doctor, recordId);
    expect(await read(w.doctor, recordId, tx)).to.deep.equal(dataKey);
  });

  it("preflight refuses a reader without consent before any access is logged (no phantom reads)", async () => {
    const { recordId } = await w.writeRecord();
    await refusedBy(
      w.network.preflight({ reader: w.stranger.wallet, subject: w.subject, recordId, purpose: PURPOSE.TREAT }),
      "UNKNOWN_READER",
      3,
    );
  });

  it("one keyholder down: the read still works; two down: a typed error naming them", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    // The doctor's records are held by hospital a, whose keyholder (k2) is their custodian keyholder.
    const [k1, k2, k3] = w.keyholders;
    await k1!.stop();
    try {
      const tx = await w.access(w.doctor, recordId);
      expect(await read(w.doctor, recordId, tx)).to.deep.equal(dataKey);
      await k3!.stop();
      const err = await refusal(read(w.doctor, recordId, await w.access(w.doctor, recordId)));
      expect(err.codes()).to.include({ [k1!.id]: "UNREACHABLE", [k3!.id]: "UNREACHABLE" });
      await k3!.start();
      // The custodian keyholder down: nothing is released (it alone checks the sealed rule).
      await k2!.stop();
      const custodianDown = await refusal(read(w.doctor, recordId, await w.access(w.doctor, recordId)));
      expect(custodianDown.codes()).to.deep.equal({ [k2!.id]: "UNREACHABLE" });
    } finally {
      await Promise.all([k1, k2, k3].filter((k) => !k!.running()).map((k) => k!.start()));
    }
  });

  it("restart with shares intact: a keyholder restarted reads its database back", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const [k1, k2, k3] = w.keyholders;
    await k3!.stop();
    await k3!.start();
    await k1!.stop();
    try {
      expect(await read(w.doctor, recordId, await w.access(w.doctor, recordId))).to.deep.equal(dataKey);
      void k2;
    } finally {
      await k1!.start();
    }
  });

  it("a lying keyholder (a wrong share) is detected and skipped; the read succeeds from the others", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const liar = w.keyholders[0]!;
    const down = w.keyholders[2]!;
    const lying = (honest: KeyholderApi): KeyholderApi => ({
      ...honest,
      async release(body) {
        const r = await honest.release(body);
        const request = (body as { request: KeyReleaseRequest }).request;
        // A validly sealed, wrong share for the reader's registered key.
        const wrong = new Uint8Array(33);
        wrong.set(randomBytes(32));
        wrong[32] = r.x;
        const slot = sealShare({
          share: wrong,
          recipientPublicKey: getBytes(w.doctor.publicKey),
          recipientKeyVersion: r.readerKeyVersion,
          context: { ...refOf(w, recordId), keyholderId: liar.id, epoch: BigInt(r.epoch), x: r.x },
          release: { reader: w.doctor.wallet.address, nonce: request.nonce },
        });
        return { ...r, slot: hexlify(slot) as Hex };
      },
    });
    const withLiar = await KeyholderNetwork.create({
      chain: w.chain,
      transport: (m) => (m.id === liar.id ? lying(httpKeyholder(m.endpoint)) : httpKeyholder(m.endpoint)),
    });
    expect(await read(w.doctor, recordId, await w.access(w.doctor, recordId), withLiar)).to.deep.equal(dataKey);
    const withLiarAndOneDown = await KeyholderNetwork.create({
      chain: w.chain,
      transport: (m) =>
        m.id === liar.id
          ? lying(httpKeyholder(m.endpoint))
          : m.id === down.id
            ? httpKeyholder("http://127.0.0.1:9")
            : httpKeyholder(m.endpoint),
    });
    const err = await refusal(read(w.doctor, recordId, await w.access(w.doctor, recordId), withLiarAndOneDown));
    expect(err.codes()[liar.id]).to.equal("INVALID_SHARE");
  });

  it("an attacker with one keyholder's database and key learns one share, which does not give the key", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const kh = w.keyholders[0]!;
    const [row] = sharesOf(kh, recordId);
    const share = openShare({
      slot: row!.slot,
      recipientPrivateKey: kh.identity.x25519.privateKey,
      context: {
        chainId: w.chain.chainId,
        keyholderRegistry: w.chain.keyholderRegistry,
        recordRegistry: w.chain.recordRegistry,
        subject: w.subject,
        recordId,
        keyholderId: kh.id,
        epoch: BigInt(row!.epoch),
        x: row!.x,
      },
    });
    expect(share.subarray(0, 32)).to.not.deep.equal(dataKey);
    const db = new DatabaseSync(join(kh.dataDir, "keyholder.db"), { readOnly: true });
    const dump = JSON.stringify(db.prepare("SELECT * FROM shares").all(), (_k, v: unknown) =>
      v instanceof Uint8Array ? hexlify(v) : v,
    );
    db.close();
    expect(dump).to.not.include(hexlify(dataKey).slice(2));
    const ref = refOf(w, recordId);
    const check = keyCheckValue(ref, dataKey);
    for (let i = 0; i < 64; i++) {
      const guess = new Uint8Array(33);
      guess.set(randomBytes(32));
      guess[32] = (row!.x % 255) + 1;
      expect(keyCheckValue(ref, await combineShares([share, guess]))).to.not.equal(check);
    }
  });

  describe("refusals", () => {
    it("no access event, someone else's transaction, a replayed nonce, an expired request", async () => {
      const { recordId } = await w.writeRecord();
      const anchorTx = (await w.records.queryFilter(w.records.filters.RecordAnchored(w.subject, recordId)))[0]!
        .transactionHash as Hex;
      await refusedBy(read(w.doctor, recordId, anchorTx), "NO_ACCESS_EVENT");
      const doctorsTx = await w.access(w.doctor, recordId);
      await refusedBy(read(w.nurse, recordId, doctorsTx), "ACCESS_NOT_YOURS");

      const kh = w.keyholders[1]!; // the custodian keyholder: answers without a policy token
      const api = httpKeyholder(kh.url);
      const request = {
        keyholderIds: [kh.id],
        reader: w.doctor.wallet.address,
        subject: w.subject,
        recordId,
        accessTx: doctorsTx,
        nonce: hexlify(randomBytes(32)) as Hex,
        expiry: Math.floor(Date.now() / 1000) + 60,
      };
      const signature = (await w.doctor.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, request)) as Hex;
      await api.release({ request, signature });
      const replay = await api.release({ request, signature }).catch((e: unknown) => e);
      expect(replay).to.have.property("refusal", "REPLAYED");
      const expired = { ...request, nonce: hexlify(randomBytes(32)) as Hex, expiry: Math.floor(Date.now() / 1000) - 1 };
      const signedExpired = (await w.doctor.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, expired)) as Hex;
      expect(
        await api.release({ request: expired, signature: signedExpired }).catch((e: unknown) => e),
      ).to.have.property("refusal", "EXPIRED");
      const forged = { ...request, nonce: hexlify(randomBytes(32)) as Hex };
      const wrongSigner = (await w.stranger.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, forged)) as Hex;
      expect(await api.release({ request: forged, signature: wrongSigner }).catch((e: unknown) => e)).to.have.property(
        "refusal",
        "BAD_SIGNATURE",
      );
      const theirs = { ...forged, reader: w.stranger.wallet.address };
      const signedTheirs = (await w.stranger.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, theirs)) as Hex;
      expect(await api.release({ request: theirs, signature: signedTheirs }).catch((e: unknown) => e)).to.have.property(
        "refusal",
        "ACCESS_NOT_YOURS",
      );
    });

    it("stale access on an idle chain: the keyholder's own clock expires it", async function () {
      const { recordId } = await w.writeRecord();
      const tx = await w.access(w.doctor, recordId);
      const accessBlock = (await w.provider.getTransactionReceipt(tx))!.blockNumber;
      await new Promise((r) => setTimeout(r, 21_000)); // maxAccessAgeSeconds is 20; no block is mined meanwhile
      const latest = await w.provider.getBlock("latest");
      const accessTime = (await w.provider.getBlock(accessBlock))!.timestamp;
      expect(latest!.timestamp - accessTime, "the chain stayed idle").to.be.lessThan(20);
      await refusedBy(read(w.doctor, recordId, tx), "STALE_ACCESS");
    });

    it("after the consent is revoked, even for a fresh access", async () => {
      const { recordId } = await w.writeRecord();
      const tx = await w.access(w.doctorB, recordId, PURPOSE.TREAT, w.consentB);
      await (await w.consents.connect(w.patient.wallet).revoke(w.subject, w.consentB)).wait();
      await refusedBy(read(w.doctorB, recordId, tx), "REVOKED");
    });

    it("after the practitioner is suspended, and after its organization is", async () => {
      const { recordId } = await w.writeRecord();
      const nurseTx = await w.access(w.nurse, recordId);
      const admin = w.directory.connect(w.admins.a);
      await (await admin.suspendPractitioner(w.nurse.wallet.address)).wait();
      await refusedBy(read(w.nurse, recordId, nurseTx), "SUSPENDED");
      const cTx = await w.access(w.doctorC, recordId);
      await (await w.directory.suspendOrganization(w.orgs.c)).wait();
      await refusedBy(read(w.doctorC, recordId, cTx), "ORGANIZATION_SUSPENDED");
    });

    it("break-glass: released while the session is open; refused after the subject opts out", async () => {
      const { recordId, dataKey } = await w.writeRecord();
      const glass = async () => {
        const tx = await w.records
          .connect(w.responder.wallet)
          .breakGlassAccess(w.subject, [recordId], PURPOSE.ETREAT, 7);
        await tx.wait();
        return tx.hash as Hex;
      };
      expect(await read(w.responder, recordId, await glass())).to.deep.equal(dataKey);
      const tx = await glass();
      await (await w.consents.connect(w.patient.wallet).setBreakGlassOptOut(w.subject, true)).wait();
      await refusedBy(read(w.responder, recordId, tx), "OPTED_OUT");
      await (await w.consents.connect(w.patient.wallet).setBreakGlassOptOut(w.subject, false)).wait();
    });
  });

  it("an ACCESS guardian reads with its registered account key", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const tx = await w.access(w.guardian, recordId, PURPOSE.PATRQT);
    expect(await read(w.guardian, recordId, tx)).to.deep.equal(dataKey);
  });

  it("after key rotation (patient and practitioner) releases wrap to the new key", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const patientKey = generateX25519KeyPair();
    await (
      await w.directory.connect(w.patient.wallet).rotatePatientKey(w.subject, hexlify(patientKey.publicKey))
    ).wait();
    const onlyNew = { ...w.patient, keys: new Map([[2, patientKey.privateKey]]) };
    expect(await read(onlyNew, recordId, await w.access(w.patient, recordId, PURPOSE.PATRQT))).to.deep.equal(dataKey);
    const doctorKey = generateX25519KeyPair();
    await (await w.directory.connect(w.doctor.wallet).rotatePractitionerKey(hexlify(doctorKey.publicKey))).wait();
    w.doctor.keys.set(2, doctorKey.privateKey);
    const doctorOnlyNew = { ...w.doctor, keys: new Map([[2, doctorKey.privateKey]]) };
    expect(await read(doctorOnlyNew, recordId, await w.access(w.doctor, recordId))).to.deep.equal(dataKey);
  });

  it("load: 1,000 concurrent release requests across three keyholders, none lost, none wrongly released", async () => {
    const { recordId } = await w.writeRecord();
    const tx = await w.access(w.doctor, recordId);
    const members = (await w.chain.keyholderSet()).members;
    const expiry = Math.floor(Date.now() / 1000) + 120;
    // The policy token of the custodian keyholder (k2) for this access, which the others require.
    const custodian = members.find((m) => m.id === w.keyholders[1]!.id)!;
    const first = {
      keyholderIds: [custodian.id],
      reader: w.doctor.wallet.address,
      subject: w.subject,
      recordId,
      accessTx: tx,
      nonce: hexlify(randomBytes(32)) as Hex,
      expiry,
    };
    const { policyToken: token } = await w.network.api(custodian).release({
      request: first,
      signature: (await w.doctor.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, first)) as Hex,
    });
    const jobs = await Promise.all(
      Array.from({ length: 1100 }, async (_, i) => {
        const m = members[i % members.length]!;
        const reader = i < 1000 ? w.doctor : w.stranger;
        const request = {
          keyholderIds: [m.id],
          reader: reader.wallet.address,
          subject: w.subject,
          recordId,
          accessTx: tx,
          nonce: hexlify(randomBytes(32)) as Hex,
          expiry,
        };
        const signature = (await reader.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, request)) as Hex;
        return { m, reader, request, signature };
      }),
    );
    const results = await Promise.all(
      jobs.map(async (j) => {
        try {
          return { j, r: await w.network.api(j.m).release({ request: j.request, signature: j.signature, token }) };
        } catch (e) {
          return { j, e: e as { refusal?: string } };
        }
      }),
    );
    const anchoredBy = (await w.chain.anchoredBy(w.subject, recordId))!;
    let released = 0;
    for (const { j, r, e } of results) {
      if (j.reader === w.stranger) {
        expect(e?.refusal).to.equal("ACCESS_NOT_YOURS");
        continue;
      }
      expect(e, String((e as Error | undefined)?.message)).to.equal(undefined);
      const trusted = trustedShares(w.network.domain, r!.manifest, { anchoredBy, accountOf: () => undefined });
      const ctx = {
        chainId: w.chain.chainId,
        keyholderRegistry: w.chain.keyholderRegistry,
        recordRegistry: w.chain.recordRegistry,
        subject: w.subject,
        recordId,
        keyholderId: j.m.id,
        epoch: BigInt(r!.epoch),
        x: r!.x,
      };
      const share = openShare({
        slot: getBytes(r!.slot),
        recipientPrivateKey: w.doctor.keys.get(r!.readerKeyVersion)!,
        context: ctx,
        release: { reader: w.doctor.wallet.address, nonce: j.request.nonce },
      });
      expect(shareCommitment(ctx, share)).to.equal(trusted.entries.get(j.m.id)!.commitment);
      released++;
    }
    expect(released).to.equal(1000);
  });

  it("the release log: every release matches an access event; anchors at a fixed cadence match the heads; a deleted entry is detected", async () => {
    const kh = w.keyholders[1]!;
    await kh.stop();
    await kh.start({ anchorIntervalSeconds: 1, anchorPadQuantum: 8 });
    const { recordId } = await w.writeRecord();
    await read(w.doctor, recordId, await w.access(w.doctor, recordId));
    let anchors = await w.chain.releaseLogAnchors(kh.id);
    for (let i = 0; anchors.length < 2 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      anchors = await w.chain.releaseLogAnchors(kh.id);
    }
    await kh.stop();
    await kh.start();
    expect(anchors.length).to.be.greaterThanOrEqual(2);
    for (const a of anchors) expect(a.seq % 8).to.equal(0);
    const api = httpKeyholder(kh.url);
    const request = { keyholderId: kh.id, fromSeq: 0, limit: 10_000, expiry: Math.floor(Date.now() / 1000) + 60 };
    const signature = (await w.auditor.wallet.signTypedData(w.network.domain, LOG_QUERY_TYPES, request)) as Hex;
    const { entries, auditKey: grant } = await api.logEntries({ request, signature });
    const auditKey = openPayload({
      slot: getBytes(grant.slot),
      kind: OpeningKind.SECRET,
      recipientPrivateKey: w.auditor.keys.get(grant.keyVersion)!,
      binding: secretBinding({
        chainId: w.chain.chainId,
        keyholderRegistry: w.chain.keyholderRegistry,
        account: w.auditor.wallet.address,
        recipient: 0,
      }),
    });
    const notAuditor = (await w.doctor.wallet.signTypedData(w.network.domain, LOG_QUERY_TYPES, request)) as Hex;
    expect(await api.logEntries({ request, signature: notAuditor }).catch((e: unknown) => e)).to.have.property(
      "refusal",
      "NOT_AUDITOR",
    );
    const hasAccess = async (e: { accessTx?: string; subject?: string; recordId?: string; reader?: string }) => {
      const receipt = await w.chain.accessReceipt(e.accessTx as Hex);
      return (
        receipt?.accesses.some(
          (a) =>
            a.subject === e.subject &&
            a.recordId === e.recordId &&
            a.accessor.toLowerCase() === e.reader?.toLowerCase(),
        ) ?? false
      );
    };
    const base = {
      auditKey,
      chainId: w.chain.chainId,
      keyholderRegistry: w.chain.keyholderRegistry,
      keyholderId: kh.id,
      anchors,
      hasAccess,
    };
    const report = await auditReleaseLog({ ...base, rows: entries });
    expect(report.ok, JSON.stringify(report)).to.equal(true);
    expect(report.releases).to.be.greaterThan(300);
    const tampered = entries.filter((r) => r.seq !== 3);
    const broken = await auditReleaseLog({ ...base, rows: tampered });
    expect(broken.ok).to.equal(false);
    expect(broken.anchorMismatches.length + broken.brokenAt.length).to.be.greaterThan(0);
  });

  it("bad input on every endpoint gets a 4xx with a typed body, never a crash", async () => {
    const kh = w.keyholders[2]!;
    const posts = [
      "/v1/shares",
      "/v1/preflight",
      "/v1/release",
      "/v1/erase",
      "/v1/retire",
      "/v1/reshare/deal",
      "/v1/reshare/accept",
      "/v1/reshare/finalize",
      "/v1/reshare/list",
      "/v1/openings",
      "/v1/log/entries",
      "/v1/audit/openings",
    ];
    const expectTyped = async (res: Response) => {
      expect(res.status, `${res.url} ${res.status}`).to.be.within(400, 499);
      const text = await res.text();
      const body = JSON.parse(text) as { code: string; message: string };
      expect(Object.keys(RefusalCodes)).to.include(body.code);
      expect(body.message).to.be.a("string");
      expect(text).to.not.match(/stack|\bat .*\.ts:/);
    };
    const post = (path: string, body: string, type = "application/json") =>
      fetch(`${kh.url}${path}`, { method: "POST", headers: { "content-type": type }, body });
    for (const path of posts) {
      for (const body of [
        "",
        "{",
        "[]",
        "null",
        "{}",
        '{"request":{},"signature":"0x"}',
        '{"__proto__":{"x":1}}',
        "1e999",
        '"x"',
      ]) {
        await expectTyped(await post(path, body));
      }
      await expectTyped(await post(path, "hello", "text/plain"));
      await expectTyped(await post(path, JSON.stringify({ pad: "x".repeat(70_000) })));
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
          await expectTyped(await post(path, JSON.stringify(value) ?? "null"));
        }),
        { numRuns: 25 },
      );
    }
    await expectTyped(await fetch(`${kh.url}/nowhere`));
    expect((await fetch(`${kh.url}/health`)).status).to.equal(200);
  });

  it("re-key: the old version's shares are destroyed once the chain shows it superseded; its key opens nothing new", async () => {
    const v1 = await w.writeRecord();
    expect(await read(w.doctor, v1.recordId, await w.access(w.doctor, v1.recordId))).to.deep.equal(v1.dataKey);
    await refusedBy(
      w.network.retire({ by: w.doctor.wallet, subject: w.subject, recordId: v1.recordId }),
      "NOT_SUPERSEDED",
      3,
    );
    const v2 = { recordId: hexlify(randomBytes(32)) as Hex, dataKey: randomBytes(32) };
    const labels = sealLabels({ subject: w.subject, recordId: v2.recordId, labels: 0 });
    await w.network.deposit({
      writer: w.doctor.wallet,
      subject: w.subject,
      recordId: v2.recordId,
      dataKey: v2.dataKey,
      labels,
      custodian: w.orgs.a,
    });
    const anchor = await w.records
      .connect(w.doctor.wallet)
      .anchorRecord(
        w.subject,
        v2.recordId,
        2,
        hexlify(randomBytes(32)),
        labelCommitment(labels),
        v1.recordId,
        "fs:v2",
        ZERO,
      );
    await anchor.wait();
    await refusedBy(
      w.network.retire({ by: w.stranger.wallet, subject: w.subject, recordId: v1.recordId }),
      "NOT_WRITER",
      3,
    );
    await w.network.retire({ by: w.doctor.wallet, subject: w.subject, recordId: v1.recordId });
    for (const kh of w.keyholders) expect(sharesOf(kh, v1.recordId)).to.have.length(0);
    expect(await read(w.doctor, v2.recordId, await w.access(w.doctor, v2.recordId))).to.deep.equal(v2.dataKey);
    expect(v2.dataKey).to.not.deep.equal(v1.dataKey);
  });

  it("a keyholder joins and one leaves: resharing without assembling the key; the leaver's shares are useless", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const [k1, k2] = w.keyholders;
    const joiner = await w.addKeyholder();
    await joiner.start();
    const coordinator1 = new Wallet(hexlify(k2!.identity.signingKey));
    expect(await reshareAll({ network: w.network, coordinator: coordinator1 })).to.be.greaterThan(0);
    expect(await read(w.doctor, recordId, await w.access(w.doctor, recordId))).to.deep.equal(dataKey);

    // The leaver's share as it stands before it leaves (an attacker's copy of its database and key).
    const ref = refOf(w, recordId);
    const plain = (kh: KeyholderProcess) =>
      sharesOf(kh, recordId).map((row) =>
        openShare({
          slot: row.slot,
          recipientPrivateKey: kh.identity.x25519.privateKey,
          context: { ...ref, keyholderId: kh.id, epoch: BigInt(row.epoch), x: row.x },
        }),
      );
    const leaverShares = plain(k1!);
    expect(leaverShares).to.have.length(1);

    await (await w.registry.removeKeyholder(k1!.id)).wait();
    expect(await reshareAll({ network: w.network, coordinator: coordinator1, avoid: [k1!.id] })).to.be.greaterThan(0);
    expect(await read(w.doctor, recordId, await w.access(w.doctor, recordId))).to.deep.equal(dataKey);
    expect(sharesOf(k1!, recordId), "the leaver deleted its share").to.have.length(0);
    const remaining = w.keyholders.filter((kh) => kh !== k1).map((kh) => plain(kh));
    for (const shares of remaining) expect(shares).to.have.length(1);
    const check = keyCheckValue(ref, dataKey);
    for (const shares of remaining) {
      expect(keyCheckValue(ref, await combineShares([leaverShares[0]!, shares[0]!]))).to.not.equal(check);
    }
    expect(keyCheckValue(ref, await combineShares([remaining[0]![0]!, remaining[1]![0]!]))).to.equal(check);
  });

  it("erasure: every keyholder deletes the record's shares once the tombstone is on chain", async () => {
    const active = w.keyholders.filter((kh) => kh.running());
    const { recordId } = await w.writeRecord();
    await refusedBy(
      w.network.erase({ subject: w.subject, recordId }),
      "NOT_ERASED",
      (await w.chain.keyholderSet()).members.length,
    );
    await (await w.records.connect(w.patient.wallet).eraseRecord(w.subject, recordId)).wait();
    await w.network.erase({ subject: w.subject, recordId });
    for (const kh of active) expect(sharesOf(kh, recordId)).to.have.length(0);
    const tx = await w.access(w.doctor, recordId).catch(() => undefined);
    expect(tx, "the chain refuses an access to an erased record").to.equal(undefined);

    // The watchers alone delete the shares of a record tombstoned on chain.
    const other = await w.writeRecord();
    await (await w.records.connect(w.patient.wallet).eraseRecord(w.subject, other.recordId)).wait();
    for (let i = 0; active.some((kh) => sharesOf(kh, other.recordId).length > 0) && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const kh of active) expect(sharesOf(kh, other.recordId)).to.have.length(0);
  });
});
