/**
 * Observer hygiene groundwork (issue 14): the contracts never branch on a sealed commitment. Two
 * anchors (or grants, or accesses) that differ only in the sensitive label behind their commitment
 * execute the very same opcodes with the same gas, and write the same storage, except the values
 * derived from the commitment (a record's commitment slot; a consent's sealed terms are not stored at
 * all). What a node sees of them differs only in those 32-byte values.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import type { ContractTransactionResponse } from "ethers";
import { network } from "hardhat";

import {
  ALL_CATEGORIES,
  Category,
  Purpose,
  buildWorld,
  grantFromPatient,
  grantHospitalAppend,
  randomId,
  terms,
} from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";

const conn = await network.create();
const { networkHelpers, ethers } = conn;
const coder = ethersLib.AbiCoder.defaultAbiCoder();

interface Trace {
  structLogs: { op: string; gas: number; gasCost: number; stack?: string[] }[];
}

interface Observed {
  gasUsed: bigint;
  /** Gas after the intrinsic cost (21,000 + calldata): what execution cost. */
  executionGas: bigint;
  ops: string[];
  stores: [string, string][];
  logs: string[];
}

/** A salted commitment to a label mask whose bytes are all non-zero (so calldata costs match too). */
function labelCommitment(mask: number): string {
  for (;;) {
    const c = ethersLib.keccak256(coder.encode(["uint8", "bytes32"], [mask, ethersLib.randomBytes(32)]));
    if (!ethersLib.getBytes(c).includes(0)) return c;
  }
}

function intrinsic(data: string): bigint {
  let gas = 21_000n;
  for (const b of ethersLib.getBytes(data)) gas += b === 0 ? 4n : 16n;
  return gas;
}

async function observe(tx: Promise<ContractTransactionResponse>): Promise<Observed> {
  const sent = await tx;
  const receipt = (await sent.wait())!;
  const trace = (await ethers.provider.send("debug_traceTransaction", [sent.hash, {}])) as Trace;
  const stores: [string, string][] = [];
  for (const step of trace.structLogs) {
    // SSTORE pops the slot (top of stack) then the value.
    if (step.op === "SSTORE" && step.stack !== undefined) {
      // Stack entries come as minimal hex: pad them to 32 bytes so values can be compared and masked.
      const [value, slot] = step.stack.slice(-2).map((x) => ethersLib.toBeHex(BigInt(x), 32));
      stores.push([slot!, value!]);
    }
  }
  return {
    gasUsed: receipt.gasUsed,
    executionGas: receipt.gasUsed - intrinsic(sent.data),
    ops: trace.structLogs.map((s) => `${s.op}:${s.gasCost}`),
    stores,
    logs: receipt.logs.map((l) => [...l.topics, l.data].join("")),
  };
}

/** Replaces every occurrence of the given 32-byte values (hex, no 0x) by a placeholder. */
function masked(o: Observed, values: string[]): Observed {
  const mask = (s: string) =>
    values.reduce((acc, v) => acc.split(v.slice(2).toLowerCase()).join("<C>"), s.toLowerCase());
  return {
    ...o,
    stores: o.stores.map(([slot, value]) => [mask(slot), mask(value)]),
    logs: o.logs.map(mask),
  };
}

describe("observer hygiene: nothing on chain depends on what a commitment commits to", () => {
  async function world(): Promise<World & { appendId: string; permit: string; time: number }> {
    const w = await buildWorld(conn);
    const appendId = await grantHospitalAppend(w);
    const permit = await grantFromPatient(w, terms({ granteeAccount: w.doctor.address, categories: ALL_CATEGORIES }));
    return { ...w, appendId, permit, time: (await w.now()) + 100 };
  }

  it("two anchors differing only in the label mask: same opcodes, same gas, same storage writes but the commitment slot", async () => {
    const runs: Observed[] = [];
    const recordId = randomId();
    const digest = randomId();
    const commitments = [labelCommitment(0), labelCommitment(4 /* SUBSTANCE_USE */)];
    for (const label of commitments) {
      const w = await networkHelpers.loadFixture(world);
      await networkHelpers.time.setNextBlockTimestamp(w.time);
      runs.push(
        await observe(
          w.records
            .connect(w.doctor)
            .anchorRecord(w.subject, recordId, Category.CONDITIONS, digest, label, ethersLib.ZeroHash, "p", w.appendId),
        ),
      );
    }
    const [a, b] = runs as [Observed, Observed];
    expect(a.gasUsed).to.equal(b.gasUsed);
    expect(a.executionGas).to.equal(b.executionGas);
    expect(a.ops).to.deep.equal(b.ops);
    expect(a.stores).to.have.length(b.stores.length);
    // Exactly one stored value differs: the commitment slot, keccak256(digest, labelCommitment).
    const derived = commitments.map((c) => ethersLib.keccak256(coder.encode(["bytes32", "bytes32"], [digest, c])));
    const differing = a.stores.filter(([, v], i) => v !== b.stores[i]![1]);
    expect(differing).to.have.length(1);
    expect(BigInt(differing[0]![1])).to.equal(BigInt(derived[0]!));
    expect(masked(a, [...commitments, ...derived])).to.deep.equal(masked(b, [...commitments, ...derived]));
  });

  it("two grants differing only in their sealed terms: same opcodes, same gas, identical storage writes", async () => {
    const runs: Observed[] = [];
    const sealed = [labelCommitment(0), labelCommitment(1 /* MENTAL_HEALTH allowed */)];
    for (const sealedTerms of sealed) {
      const w = await networkHelpers.loadFixture(world);
      await networkHelpers.time.setNextBlockTimestamp(w.time);
      runs.push(
        await observe(
          w.consents.connect(w.patient).grant(w.subject, terms({ granteeAccount: w.labTech.address, sealedTerms })),
        ),
      );
    }
    const [a, b] = runs as [Observed, Observed];
    expect(a.gasUsed).to.equal(b.gasUsed);
    expect(a.ops).to.deep.equal(b.ops);
    // The sealed terms are emitted, never stored.
    expect(a.stores).to.deep.equal(b.stores);
    expect(masked(a, sealed).logs).to.deep.equal(masked(b, sealed).logs);
  });

  it("reading a labelled record costs exactly what reading an unlabelled one does (access never touches the commitment)", async () => {
    const w = await networkHelpers.loadFixture(world);
    const ids: string[] = [];
    for (const mask of [0, 8 /* GENETICS */]) {
      const id = randomId();
      await (
        await w.records
          .connect(w.doctor)
          .anchorRecord(
            w.subject,
            id,
            Category.OBSERVATIONS,
            randomId(),
            labelCommitment(mask),
            ethersLib.ZeroHash,
            "p",
            w.appendId,
          )
      ).wait();
      ids.push(id);
    }
    const runs: Observed[] = [];
    for (const id of ids) {
      // The same access twice from the same state: only the record id differs.
      const snapshot = await networkHelpers.takeSnapshot();
      runs.push(await observe(w.records.connect(w.doctor).access(w.subject, id, Purpose.TREAT, w.permit)));
      await snapshot.restore();
    }
    const [a, b] = runs as [Observed, Observed];
    expect(a.executionGas).to.equal(b.executionGas);
    expect(a.ops).to.deep.equal(b.ops);
    expect(a.stores).to.deep.equal([]);
  });

  it("control: the harness does see a value-dependent difference (a different category)", async () => {
    const runs: Observed[] = [];
    for (const category of [Category.CONDITIONS, Category.OBSERVATIONS]) {
      const w = await networkHelpers.loadFixture(world);
      await networkHelpers.time.setNextBlockTimestamp(w.time);
      runs.push(
        await observe(
          w.records
            .connect(w.doctor)
            .anchorRecord(
              w.subject,
              randomId(),
              category,
              randomId(),
              labelCommitment(0),
              ethersLib.ZeroHash,
              "p",
              w.appendId,
            ),
        ),
      );
    }
    const [a, b] = runs as [Observed, Observed];
    expect(a.stores.map(([, v]) => v)).to.not.deep.equal(b.stores.map(([, v]) => v));
  });
});
