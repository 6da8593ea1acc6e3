/**
 * JSON-RPC round trips of records.put and records.get, counted on a real node (anvil, instant
 * mining) with the providers users build: `new JsonRpcProvider(url)`, ethers' default options.
 * A reader that is not the writer (no writer's journal). On main: 24 calls per put and 19 per
 * get with default options (13 and 11 with tuned ones). Speed is in the benchmark (bench/rpc.ts).
 */
import { expect } from "chai";
import { Wallet, hexlify } from "ethers";

import { MedLedger, createIdentity, memoryJournal } from "../../sdk/index.js";
import { setUpConsortium } from "../../fixtures/consortium.js";
import type { Consortium } from "../../fixtures/consortium.js";
import { startAnvil } from "../../fixtures/nodes.js";
import type { RunningNode } from "../../fixtures/nodes.js";
import { CountingProvider, countPutGet, total } from "../../fixtures/rpc-counter.js";

/**
 * The calls an operation makes. A receipt poll that reaches the node before it has mined the
 * transaction (a loaded machine) is repeated; those repeats are waiting, not work: counted once.
 */
function calls(counts: Record<string, number>): number {
  const polls = counts.eth_getTransactionReceipt ?? 0;
  expect(polls, "the receipt is fetched").to.be.at.least(1);
  return total(counts) - (polls - 1);
}

describe("round trips: records.put and records.get take at most 6 JSON-RPC calls each", function () {
  this.timeout(120_000);
  let node: RunningNode;
  let keyholderRpc: CountingProvider;
  let c: Consortium;

  before(async () => {
    node = await startAnvil({ blockTime: 0 });
    keyholderRpc = new CountingProvider(node.url);
    c = await setUpConsortium({ provider: keyholderRpc, funder: await node.provider.getSigner(0), funding: 0n });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["OBSERVATIONS"],
      purposes: ["TREAT"],
      actions: ["APPEND", "READ"],
    });
  });
  after(async () => {
    keyholderRpc?.destroy();
    await node?.stop();
  });

  it("default JsonRpcProvider: a put by the doctor, a get by the patient", async () => {
    const counted = await countPutGet(c, node, keyholderRpc, undefined, 0, 5);
    expect(calls(counted.put), JSON.stringify(counted.put)).to.be.at.most(6);
    expect(calls(counted.get), JSON.stringify(counted.get)).to.be.at.most(6);
    // No fee data on a zero-gas network, no chain id round trips, no nonce re-reads.
    for (const op of [counted.put, counted.get]) {
      for (const method of ["eth_chainId", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_getTransactionCount"])
        expect(op[method] ?? 0, method).to.equal(0);
    }
  });

  it("default JsonRpcProvider: a clinician with a consent reads (key re-wrapped by the keyholder)", async () => {
    // A second clinician of the hospital (the doctor writes; one account, one writer).
    const nurse = await c.participant(createIdentity());
    const licence = (await node.provider.getBlock("latest"))!.timestamp + 365 * 24 * 3600;
    await c.hospitalAdmin.ml.directory.enrollPractitioner({
      orgId: c.hospital,
      account: nurse.wallet.address,
      roles: ["CLINICIAN"],
      credentialValidUntil: licence,
      encryptionKey: nurse.identity.x25519.publicKey,
    });
    const provider = new CountingProvider(node.url);
    try {
      const reader = await MedLedger.create({
        ...nurse.ml.options,
        signer: new Wallet(hexlify(nurse.identity.signingKey), provider),
        journal: memoryJournal(),
      });
      const opts = { category: "OBSERVATIONS" as const, mediaType: "text/plain" };
      const first = await c.doctor.ml.records.put(c.subject, "first clinician read", opts);
      await reader.records.get(c.subject, first, { purpose: "TREAT" }); // warm-up: nonce, consent hint
      const id = await c.doctor.ml.records.put(c.subject, "counted clinician read", opts);
      provider.take();
      const read = await reader.records.get(c.subject, id, { purpose: "TREAT" });
      expect(new TextDecoder().decode(read.content)).to.equal("counted clinician read");
      const counted = provider.take();
      expect(calls(counted), JSON.stringify(counted)).to.be.at.most(6);
    } finally {
      provider.destroy();
    }
  });
});
