/**
 * `npm run demo:research`: research without exposure (issue 12) on Hardhat's in-process chain, the
 * aggregation servers on loopback HTTP. The story and its checks are fixtures/research-demo.ts
 * (shared with test/research-demo.test.ts); this script provides the chain and closes it, also
 * when a check fails (exit code 1).
 */
import { network } from "hardhat";

import { runResearchDemo } from "../fixtures/research-demo.js";

const conn = await network.create();
try {
  const [funder] = await conn.ethers.getSigners();
  await runResearchDemo({
    provider: conn.ethers.provider,
    funder: funder!,
    custody: process.env.DEMO_CUSTODY === "slots" ? "slots" : undefined,
  });
} finally {
  await conn.close();
}
