/**
 * End-to-end import benchmark (not a test): putFhir of the ten Synthea bundles into a consortium
 * on the in-process chain with filesystem storage; reports records per second.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

import { network } from "hardhat";

import { Category, createIdentity } from "../sdk/index.js";
import type { CategoryName } from "../sdk/index.js";
import { putFhir, validateFhir } from "../sdk/fhir/index.js";
import { filesystem } from "../sdk/node.js";
import { setUpConsortium } from "../fixtures/consortium.js";

export const SYNTHEA_DIR = fileURLToPath(new URL("../fixtures/data/synthea", import.meta.url));

export interface ImportBenchResult {
  importRecordsPerSec: number;
  importRecords: number;
  importSeconds: number;
  importBundles: number;
}

export async function benchImport(): Promise<ImportBenchResult> {
  const files = (await readdir(SYNTHEA_DIR)).filter((f) => f.endsWith(".json.gz")).sort();
  const bundles = await Promise.all(
    files.map(async (f) => JSON.parse(gunzipSync(await readFile(join(SYNTHEA_DIR, f))).toString("utf8")) as unknown),
  );
  const dir = await mkdtemp(join(tmpdir(), "medledger-import-"));
  const conn = await network.create();
  try {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder!, storage: filesystem({ dir }) });
    // Each bundle is one patient: register them and take the hospital's append consent first.
    const subjects = [];
    for (let i = 0; i < bundles.length; i++) {
      const p = i === 0 ? c.patient : await c.participant(createIdentity());
      const subject =
        i === 0
          ? c.subject
          : (
              await p.ml.directory.registerPatient({
                controller: p.wallet.address,
                encryptionKey: p.identity.x25519.publicKey,
              })
            ).value;
      await p.ml.consent.grant(subject, {
        grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
        categories: Object.keys(Category) as CategoryName[],
        purposes: ["TREAT"],
        actions: ["APPEND"],
      });
      subjects.push(subject);
    }
    // A service compiles the FHIR schema once at start-up (about 1-2 s); that is not import work.
    validateFhir({ resourceType: "Patient", id: "warm-up" });
    const start = performance.now();
    let records = 0;
    for (const [i, bundle] of bundles.entries()) {
      const result = await putFhir(c.doctor.ml, subjects[i]!, bundle as Parameters<typeof putFhir>[2]);
      records += result.resources.length;
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      importRecordsPerSec: Math.round(records / seconds),
      importRecords: records,
      importSeconds: Number(seconds.toFixed(2)),
      importBundles: bundles.length,
    };
  } finally {
    await conn.close();
    await rm(dir, { recursive: true, force: true });
  }
}
