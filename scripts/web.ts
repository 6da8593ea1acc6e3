/**
 * `npm run web`: the web view over a demo deployment, on http://127.0.0.1:8720 (or
 * $MEDLEDGER_WEB_PORT). Starts anvil, deploys the four contracts, sets up a hospital, a lab and a
 * regulator with a doctor, an emergency responder, reviewers, auditors, a guardian and two patients
 * (fixtures/web-world.ts), writes their identity keystores to .medledger/web-demo/, and serves the
 * page. Every 30 seconds the doctor reads one of Maria's lab results, so her page shows reads as
 * they happen — until she revokes the doctor's consent from the page, after which the ledger
 * refuses the reads. Ctrl-C stops everything.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";

import { startTestAnvil } from "../fixtures/anvil-ledger.js";
import { buildWebWorld } from "../fixtures/web-world.js";
import { decodeContractError, AccessDeniedError } from "../sdk/chain/errors.js";
import { readWebConfig, startWebServer } from "../sdk/web/index.js";

const PASSPHRASE = "medledger demo";
const port = Number(process.env.MEDLEDGER_WEB_PORT ?? 8720);
const dir = join(process.cwd(), ".medledger", "web-demo");
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

console.log("Starting anvil and deploying MedLedger 1.1 …");
const node = await startTestAnvil();
const world = await buildWebWorld(node, { dir, passphrase: PASSPHRASE, scryptN: 2 ** 17, port });
const web = await startWebServer(await readWebConfig(world.configFile), { relayerPassphrase: PASSPHRASE });
const file = (p: { keystore: string }) => relative(process.cwd(), p.keystore);
console.log(`
MedLedger web view: ${web.url}

Sign in with an identity file (passphrase: "${PASSPHRASE}"); it is opened in your browser, never uploaded.
  patient        Maria Garcia        ${file(world.patientA)}
  patient        John Smith          ${file(world.patientB)}
  guardian       Sam Doe (for Maria) ${file(world.guardian)}
  auditor        Alex Auditor        ${file(world.regulatorAuditor)}   (Health Regulator: the whole consortium)
  auditor        Ines Internal       ${file(world.hospitalAuditor)}   (Hospital Y only)
  privacy officer Pat Okafor          ${file(world.labOfficer)}   (City Lab's reviews)

Every 30 s Dr Xavier Lee reads one of Maria's lab results: watch it appear on her page, then revoke
his consent there and see the next read refused. Ctrl-C stops.
`);

const timer = setInterval(() => {
  void world
    .doctorReads(world.patientA, world.patientA.records.panel1!, world.patientA.consents.doctor!)
    .then(() => console.log(`${new Date().toISOString()}  Dr Xavier Lee read Maria's lab result`))
    .catch((err: unknown) => {
      const decoded = decodeContractError(err);
      const reason = decoded instanceof AccessDeniedError ? decoded.reason : String(err);
      console.log(`${new Date().toISOString()}  the ledger refused Dr Xavier Lee's read: ${reason}`);
    });
}, 30_000);

await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
clearInterval(timer);
await web.close();
await world.blobs.close();
await node.stop();
