/**
 * docs/quickstart.ts — the quick start of docs/sdk.md — runs as a user would run it: plain
 * `node` (type stripping), `medledger` resolving to the built package, against anvil with its
 * default fees. (It is type-checked with the project by `npm run typecheck`.)
 */
import { spawn } from "node:child_process";

import { expect } from "chai";

import { ensureBuilt } from "../../fixtures/build.js";
import { startAnvil } from "../../fixtures/nodes.js";

describe("docs/quickstart.ts runs against anvil", function () {
  this.timeout(180_000);

  it("deploys, governs, admits, enrolls, registers, grants, puts, gets and lists the history", async () => {
    await ensureBuilt();
    const node = await startAnvil({ blockTime: 0, zeroGas: false });
    try {
      const child = spawn(process.execPath, ["docs/quickstart.ts", node.url], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code, out).to.equal(0);
      expect(out).to.contain("admitted through the timelock");
      expect(out).to.match(/read back: \{"resourceType":"Observation".*"value":6\.1/);
      expect(out).to.contain("versions: 1; accesses: TREAT/CONSENT");
    } finally {
      await node.stop();
    }
  });
});
