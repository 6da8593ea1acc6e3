/**
 * Gas benchmark (not a test): deploys on the in-process network, measures gasUsed of each
 * operation, prints a table against its target and writes reports/gas.json (one flat object).
 *
 *   npm run bench:gas
 */
import { mkdir, writeFile } from "node:fs/promises";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import {
  Action,
  Category,
  GRANT_TYPES,
  GranteeKind,
  Purpose,
  Role,
  anchor,
  buildWorld,
  consentDomain,
  fakeKey,
  grantHospitalAppend,
  randomId,
  terms,
  YEAR,
} from "../fixtures/world.js";
import type { ContractTransactionResponse } from "ethers";

/** Targets from the on-chain core issue (gas; checkConsent has none). */
export const GAS_TARGETS: Record<string, number | undefined> = {
  registerPatient: undefined,
  admitOrganization: undefined,
  enrollPractitioner: undefined,
  grantConsent: 100_000,
  grantConsentBySig: 120_000,
  revokeConsent: 40_000,
  anchorRecord: 80_000,
  anchorBatchPerRecord: 500,
  accessRecord: 50_000,
  accessBatchPerRecord: 15_000,
  breakGlassAccess: undefined,
  checkConsent: undefined,
};

async function used(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  return Number(receipt!.gasUsed);
}

export async function benchGas(): Promise<{ figures: Record<string, number>; notes: Record<string, number> }> {
  const conn = await network.create();
  const w = await buildWorld(conn);
  const g: Record<string, number> = {};
  const notes: Record<string, number> = {};

  g.admitOrganization = await used(w.directory.admitOrganization(2, w.stranger.address, fakeKey("lab2")));
  const licence = (await w.now()) + 5 * YEAR;
  const nurse = ethersLib.Wallet.createRandom().address;
  g.enrollPractitioner = await used(
    w.directory.connect(w.hospitalAdmin).enrollPractitioner(w.hospital, nurse, Role.CLINICIAN, licence, fakeKey("n")),
  );
  g.registerPatient = await used(
    w.directory.connect(w.hospitalAdmin).registerPatient(randomId(), w.relayer.address, fakeKey("p2")),
  );

  // A patient's first consent also pays for its consent counter (zero to non-zero); the typical
  // grant is the figure of record, the first one is printed as a note.
  const firstGrant = w.consents.connect(w.patient).grant(w.subject, terms({ granteeAccount: w.hospitalAdmin.address }));
  notes.grantConsentFirst = await used(firstGrant);
  const appendId = await grantHospitalAppend(w);
  const doctorTerms = terms({ granteeAccount: w.doctor.address, categories: 0xffffffff });
  g.grantConsent = await used(w.consents.connect(w.patient).grant(w.subject, doctorTerms));
  const doctorConsent = await w.consents.consentIdAt(w.subject, await w.consents.consentCount(w.subject));

  const domain = await consentDomain(w);
  const deadline = (await w.now()) + 3600;
  const signedGrant = async (granteeOrg: number) => {
    const t = terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg, granteeRoles: Role.CLINICIAN });
    const nonce = await w.consents.nonces(w.patient.address);
    const signature = await w.patient.signTypedData(domain, GRANT_TYPES, {
      subject: w.subject,
      terms: t,
      nonce,
      deadline,
    });
    return used(w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature));
  };
  // A signer's first signature also pays for its nonce slot (zero to non-zero); report the typical one.
  notes.grantConsentBySigFirst = await signedGrant(w.hospital);
  g.grantConsentBySig = await signedGrant(w.lab);
  const labConsent = await w.consents.consentIdAt(w.subject, await w.consents.consentCount(w.subject));
  g.revokeConsent = await used(w.consents.connect(w.patient).revoke(w.subject, labConsent));

  const digest = randomId();
  g.anchorRecord = await used(
    w.records
      .connect(w.doctor)
      .anchorRecord(
        randomId(),
        w.subject,
        Category.OBSERVATIONS,
        digest,
        ethersLib.ZeroHash,
        `sha256:${digest.slice(2)}`,
        appendId,
      ),
  );

  const leaves: [string, number, string][] = Array.from({ length: 1000 }, (_, i) => [
    randomId(),
    [Category.OBSERVATIONS, Category.ENCOUNTERS, Category.CONDITIONS, Category.MEDICATIONS][i % 4]!,
    randomId(),
  ]);
  const tree = StandardMerkleTree.of(leaves, ["bytes32", "uint8", "bytes32"]);
  const categories = [Category.OBSERVATIONS, Category.ENCOUNTERS, Category.CONDITIONS, Category.MEDICATIONS].reduce(
    (m, c) => m | (1 << c),
    0,
  );
  const batchGas = await used(
    w.records
      .connect(w.doctor)
      .anchorBatch(w.subject, tree.root, leaves.length, categories, "sha256:" + "ab".repeat(32), appendId),
  );
  g.anchorBatchPerRecord = Math.round(batchGas / leaves.length);

  const ids: string[] = [];
  for (let i = 0; i < 100; i++) ids.push(await anchor(w, { hint: appendId }));
  g.accessRecord = await used(w.records.connect(w.doctor).access(ids[0]!, Purpose.TREAT, doctorConsent));
  g.accessBatchPerRecord = Math.round(
    (await used(w.records.connect(w.doctor).accessBatch(ids, Purpose.TREAT, doctorConsent))) / ids.length,
  );
  g.breakGlassAccess = await used(w.records.connect(w.responder).breakGlassAccess([ids[1]!], Purpose.ETREAT, 1));
  g.checkConsent = Number(
    await w.consents.check.estimateGas(w.doctor.address, w.subject, Category.OBSERVATIONS, Purpose.TREAT, Action.READ),
  );
  await conn.close();
  return { figures: g, notes };
}

function table(g: Record<string, number>): string {
  const rows = Object.entries(g).map(([k, v]) => {
    const target = GAS_TARGETS[k];
    const verdict = target === undefined ? "" : v <= target ? `≤ ${target}  met` : `≤ ${target}  MISSED`;
    return `${k.padEnd(22)} ${String(v).padStart(9)}  ${verdict}`;
  });
  return ["operation                gasUsed  target", ...rows].join("\n");
}

/** Runs the gas benchmark, prints the table and writes reports/gas.json. */
export async function runGasBench(): Promise<Record<string, number>> {
  const { figures, notes } = await benchGas();
  console.log(table(figures));
  console.log("\nnotes (not in gas.json):");
  for (const [k, v] of Object.entries(notes)) console.log(`${k.padEnd(22)} ${String(v).padStart(9)}`);
  await mkdir("reports", { recursive: true });
  await writeFile("reports/gas.json", JSON.stringify(figures, null, 2) + "\n");
  console.log("\nwrote reports/gas.json");
  return figures;
}
