/**
 * `npm run demo`: a whole MedLedger consortium on Hardhat's in-process chain with filesystem
 * storage: deploy (governance handed to a timelock), admit a hospital, a payer and a regulator,
 * enroll a doctor, an emergency responder, a privacy officer and the regulator's inspector, register
 * a patient, import a FHIR bundle, and run the consent / access / revocation / break-glass /
 * erasure story. Exits 0 when it all holds.
 */
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { network } from "hardhat";

import { deployMedLedger } from "../sdk/index.js";
import { filesystem } from "../sdk/node.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import { runSdkScenario } from "../fixtures/sdk-scenario.js";

const step = (title: string) => console.log(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`);
const dir = await mkdtemp(join(tmpdir(), "medledger-demo-"));
const conn = await network.create();
try {
  const provider = conn.ethers.provider;
  // The deployer keeps no power: governance goes to a timelock (1 hour) whose proposer is the
  // consortium's governance account (a multisig in production).
  const [deployer, consortium] = await conn.ethers.getSigners();
  step("Deploy");
  const addressBook = await deployMedLedger(deployer!, {
    network: "in-process",
    governance: { timelock: { minDelay: 3600, proposers: [consortium!.address] } },
    log: (line) => console.log(`  ${line}`),
  });
  step("Consortium");
  const storage = filesystem({ dir: join(dir, "blobs") });
  // The in-process chain fast-forwards through the timelock's delay instead of waiting an hour.
  const waitForDelay = async (seconds: number) => {
    await provider.send("evm_increaseTime", [seconds]);
    await provider.send("evm_mine", []);
  };
  const c = await setUpConsortium({ provider, funder: consortium!, addressBook, storage, waitForDelay });
  console.log(
    `  hospital #${c.hospital}, payer #${c.payer} and regulator #${c.regulator} admitted through the timelock (scheduled, 1 h delay, executed)`,
  );
  console.log(`  doctor ${c.doctor.wallet.address}, emergency responder ${c.responder.wallet.address}`);
  console.log(
    `  patient registered as subject ${c.subject} (derived from the patient's account and a random salt; no personal data on chain)`,
  );
  console.log(`  envelopes stored under ${join(dir, "blobs")}`);
  step("Story");
  const bundle: unknown = JSON.parse(
    await readFile(new URL("../fixtures/data/demo-bundle.json", import.meta.url), "utf8"),
  );
  const summary = await runSdkScenario(c, bundle, (line) => console.log(`  ${line}`));
  // After the revocation the doctor's only consent is the admission (APPEND): reading is not allowed.
  const expected = { payerRefusal: "NO_CONSENT", afterRevocation: "ACTION_NOT_ALLOWED", afterErasure: "RECORD_ERASED" };
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
