/**
 * `npm run demo`: a whole MedLedger consortium on Hardhat's in-process chain with filesystem
 * storage: deploy (governance handed to a timelock), admit a hospital and a payer, enroll a doctor,
 * an emergency responder and a privacy officer, register a patient, import a FHIR bundle, and run
 * the consent / access / revocation / break-glass / erasure story. Exits 0 when it all holds.
 */
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { network } from "hardhat";

import { deployMedLedger, filesystem } from "../sdk/index.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import { runSdkScenario } from "../fixtures/sdk-scenario.js";

const step = (title: string) => console.log(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`);
const dir = await mkdtemp(join(tmpdir(), "medledger-demo-"));
const conn = await network.create();
try {
  const provider = conn.ethers.provider;
  const [funder] = await conn.ethers.getSigners();
  step("Deploy");
  const addressBook = await deployMedLedger(funder!, {
    network: "in-process",
    governance: { timelock: { minDelay: 0 } },
    log: (line) => console.log(`  ${line}`),
  });
  step("Consortium");
  const storage = filesystem({ dir: join(dir, "blobs") });
  const c = await setUpConsortium({ provider, funder: funder!, addressBook, storage });
  console.log(`  hospital #${c.hospital} and payer #${c.payer} admitted through the timelock`);
  console.log(`  doctor ${c.doctor.wallet.address}, emergency responder ${c.responder.wallet.address}`);
  console.log(`  patient registered as subject ${c.subject} (random; no personal data on chain)`);
  console.log(`  envelopes stored under ${join(dir, "blobs")}`);
  step("Story");
  const bundle: unknown = JSON.parse(
    await readFile(new URL("../fixtures/data/demo-bundle.json", import.meta.url), "utf8"),
  );
  const summary = await runSdkScenario(c, bundle, (line) => console.log(`  ${line}`));
  const expected = { payerRefusal: "NO_CONSENT", afterRevocation: "CONSENT_REVOKED", afterErasure: "RECORD_ERASED" };
  for (const [k, v] of Object.entries(expected)) {
    if (summary[k as keyof typeof expected] !== v)
      throw new Error(`demo: expected ${k} = ${v}, got ${summary[k as keyof typeof expected]}`);
  }
  step("Done");
  console.log(
    `  ${summary.imported} records imported, ${summary.history.length} accesses logged, every refusal had its reason.`,
  );
} finally {
  await conn.close();
  await rm(dir, { recursive: true, force: true });
}
