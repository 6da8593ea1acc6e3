/**
 * `npm run demo:research` (scripts/demo-research.ts) runs fixtures/research-demo.ts; this runs the
 * same function on a fresh in-process chain and checks the claims the demo prints: exactly the
 * consenting patients are evaluated and the released result equals disclosure control over their
 * plaintext; no server held a per-hospital value; every contributing patient's access history
 * shows the study and no other patient's does; the auditor's rebuild from events matches; and
 * everything the demo started is stopped when a step fails.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { runResearchDemo } from "../fixtures/research-demo.js";

/** Listening sockets of this process (the demo's HTTP aggregation servers among them). */
const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

describe("demo:research", function () {
  this.timeout(300_000);

  it("tells the story, and each claim it prints holds", async () => {
    const conn = await network.create();
    try {
      const [funder] = await conn.ethers.getSigners();
      const lines: string[] = [];
      const s = await runResearchDemo({ provider: conn.ethers.provider, funder: funder!, log: (l) => lines.push(l) });
      expect(s.cohort).to.deep.equal({ permit: 28, deny: 1, none: 1 });
      expect(Object.values(s.contributed).reduce((a, b) => a + b, 0)).to.equal(28);
      expect(s.result.evaluated).to.equal(28);
      expect(s.result.contributors).to.have.length(3);
      expect(s.result.excluded).to.deep.equal([]);
      expect(s.result.privacy).to.deep.equal({ mechanism: "none" });
      expect(s.result.suppressedCells, "the demo shows suppression").to.be.greaterThan(0);
      expect(s.matchesPlaintext).to.equal(true);
      // 3 servers × (3 shares + 1 sum-share) × the query's cells.
      expect(s.serverValuesSeen).to.equal(3 * 4 * 81);
      expect(s.serverValuesNearData).to.equal(0);
      expect(s.sharesEqualToHospitalTable).to.equal(0);
      expect(s.allServersReconstruct).to.equal(true);
      expect(s.historiesWithStudy).to.equal(28);
      expect(s.excludedWithStudy).to.equal(0);
      expect(s.audited).to.deep.equal({ contributions: 3, sumShares: 3, resultDigest: s.result.digest });
      const text = lines.join("\n");
      for (const part of ["Consortium", "Patients", "Study", "Custodians", "Aggregation servers", "Researcher"]) {
        expect(text).to.include(`── ${part} `);
      }
      expect(text).to.include("opening a run is refused: StudyNotApproved");
      expect(text).to.include("purpose HRESCH, basis STUDY");
      expect(s.seconds).to.be.below(60);
    } finally {
      await conn.close();
    }
  });

  it("stops the servers it started when a step fails", async () => {
    const conn = await network.create();
    const before = servers();
    try {
      const [funder] = await conn.ethers.getSigners();
      let during = 0;
      const failing = (line: string) => {
        if (line.includes("── Patients ")) {
          during = servers();
          throw new Error("a step failed");
        }
      };
      const err = await runResearchDemo({
        provider: conn.ethers.provider,
        funder: funder!,
        patients: 3,
        log: failing,
      }).catch((e: unknown) => e);
      expect((err as Error).message).to.equal("a step failed");
      expect(during, "three HTTP aggregation servers were listening").to.equal(before + 3);
      await new Promise((resolve) => setTimeout(resolve, 100)); // closed handles leave on the next turn
      expect(servers()).to.equal(before);
    } finally {
      await conn.close();
    }
  });
});
