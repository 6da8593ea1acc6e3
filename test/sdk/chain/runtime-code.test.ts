/**
 * sdk/chain/runtime-code.ts (the expected runtime code of each contract, used to check
 * deployments) is generated from the compiled artifacts; this fails when it is stale.
 */
import { readFile } from "node:fs/promises";

import { expect } from "chai";
import { keccak256 } from "ethers";

import { RUNTIME_CODE } from "../../../sdk/chain/runtime-code.js";
import { identifyCode, isCodeOf, maskRuntimeCode } from "../../../sdk/chain/verify.js";
import { DEPLOYABLE } from "../../../fixtures/runtime-code.js";

const read = (path: string) => readFile(new URL(`../../../${path}`, import.meta.url), "utf8");

describe("sdk/chain/runtime-code: generated from the artifacts", () => {
  for (const [name, path] of Object.entries(DEPLOYABLE) as [keyof typeof DEPLOYABLE, string][]) {
    it(`${name}: hash and immutables match the compiled contract (else: npx tsx scripts/runtime-code.ts)`, async () => {
      const artifact = JSON.parse(await read(path)) as {
        deployedBytecode: string;
        immutableReferences?: Record<string, { start: number; length: number }[]>;
      };
      const immutables = Object.values(artifact.immutableReferences ?? {})
        .flat()
        .map((r) => [r.start, r.length])
        .sort((a, b) => a[0]! - b[0]!);
      expect(RUNTIME_CODE[name].immutables).to.deep.equal(immutables);
      expect(RUNTIME_CODE[name].hash).to.equal(
        keccak256(maskRuntimeCode(artifact.deployedBytecode, immutables as [number, number][])),
      );
      expect(identifyCode(artifact.deployedBytecode)).to.equal(name);
    });
  }

  it("tells contracts apart, and ignores immutables and the metadata trailer only", async () => {
    const artifact = JSON.parse(await read(DEPLOYABLE.ConsentRegistry)) as { deployedBytecode: string };
    const code = artifact.deployedBytecode;
    const [start] = RUNTIME_CODE.ConsentRegistry.immutables[0];
    const withImmutable = code.slice(0, 2 + 2 * start) + "ab".repeat(32) + code.slice(2 + 2 * (start + 32));
    expect(isCodeOf("ConsentRegistry", withImmutable)).to.equal(true);
    const withOtherMetadata = code.slice(0, -20) + "00".repeat(8) + code.slice(-4);
    expect(isCodeOf("ConsentRegistry", withOtherMetadata)).to.equal(true);
    const tampered = code.slice(0, 100) + (code[100] === "0" ? "1" : "0") + code.slice(101);
    expect(isCodeOf("ConsentRegistry", tampered)).to.equal(false);
    expect(isCodeOf("RecordRegistry", code)).to.equal(false);
  });
});
