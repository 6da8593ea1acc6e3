import { createHash } from "node:crypto";

import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import { buildWorld } from "../../fixtures/world.js";
import { PLANTED, runScenario } from "../../fixtures/contract-scenario.js";

const conn = await network.create();
const { ethers } = conn;

interface Trace {
  structLogs: { op: string; stack?: string[] }[];
}

/** Every byte a chain observer can see: calldata, event topics and data, storage writes. */
async function chainBytes(fromBlock: number): Promise<{ calldata: string[]; logs: string[]; stores: string[] }> {
  const out = { calldata: [] as string[], logs: [] as string[], stores: [] as string[] };
  const latest = await ethers.provider.getBlockNumber();
  for (let n = fromBlock; n <= latest; n++) {
    const block = await ethers.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      out.calldata.push(tx.data.toLowerCase());
      const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
      for (const log of receipt?.logs ?? []) out.logs.push([...log.topics, log.data].join("").toLowerCase());
      const trace = (await ethers.provider.send("debug_traceTransaction", [tx.hash, {}])) as Trace;
      for (const step of trace.structLogs) {
        // SSTORE pops key then value: the last two stack entries.
        if (step.op === "SSTORE" && step.stack !== undefined)
          out.stores.push(step.stack.slice(-2).join("").toLowerCase());
      }
    }
  }
  return out;
}

/** The forms plaintext could take on chain: its bytes, and hashes of it (low-entropy, guessable). */
function needles(text: string): string[] {
  const bytes = Buffer.from(text, "utf8");
  return [
    bytes.toString("hex"),
    Buffer.from(text.toUpperCase(), "utf8").toString("hex"),
    ethersLib.keccak256(bytes).slice(2),
    createHash("sha256").update(bytes).digest("hex"),
  ];
}

describe("no health data on chain", () => {
  it("a full scenario writes none of the planted plaintext, sensitive label included (or its hashes), to calldata, events or storage", async () => {
    const w = await buildWorld(conn);
    const scenarioStart = (await ethers.provider.getBlockNumber()) + 1;
    await runScenario(w);
    // Everything on chain: the world's set-up and the scenario.
    const seen = await chainBytes(0);
    // The scan covers the scenario's own transactions (a scan that missed them would prove nothing).
    const scenario = await chainBytes(scenarioStart);
    expect(scenario.calldata.length, "scenario transactions were scanned").to.be.greaterThan(20);
    expect(seen.calldata).to.include.members(scenario.calldata);
    expect(seen.stores.length, "storage writes were traced").to.be.greaterThan(50);
    expect(seen.logs.length).to.be.greaterThan(50);
    expect(seen.calldata.length).to.be.greaterThan(40);
    for (const [label, text] of Object.entries(PLANTED)) {
      for (const needle of needles(text)) {
        for (const [where, blobs] of Object.entries(seen)) {
          expect(
            blobs.some((b) => b.includes(needle)),
            `${label} found in ${where}`,
          ).to.equal(false);
        }
      }
    }
  });

  it("the scanner does find plaintext when a careless app puts it on chain (control)", async () => {
    const w = await buildWorld(conn);
    const from = (await ethers.provider.getBlockNumber()) + 1;
    // A careless app uses the patient's name as the storage pointer: it lands in calldata and the event.
    const digest = ethersLib.keccak256(ethersLib.toUtf8Bytes("ciphertext"));
    await (
      await w.records
        .connect(w.patient)
        .anchorRecord(
          w.subject,
          ethersLib.id("r"),
          2,
          digest,
          ethersLib.id("label"),
          ethersLib.ZeroHash,
          PLANTED.name,
          ethersLib.ZeroHash,
        )
    ).wait();
    const seen = await chainBytes(from);
    const [nameHex] = needles(PLANTED.name);
    expect(seen.calldata.some((b) => b.includes(nameHex!))).to.equal(true);
    expect(seen.logs.some((b) => b.includes(nameHex!))).to.equal(true);
    // Storage tracing sees what was stored: the commitment to the digest and the label commitment.
    const stored = ethersLib.keccak256(
      ethersLib.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [digest, ethersLib.id("label")]),
    );
    expect(seen.stores.some((b) => b.includes(stored.slice(2)))).to.equal(true);
  });
});
