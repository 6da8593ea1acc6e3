/**
 * Moves a MedLedger 1.0 deployment to 1.1 (docs/deploy.md, "Migrating from 1.0 to 1.1"): deploys
 * 1.1 on the selected Hardhat network (or resumes an interrupted deployment), imports 1.0's state
 * read from 1.0's events (`migrateFrom10` from sdk/migrate), verifies every table, seals the
 * migration, hands governance over and writes deployments/<network>.json — one resumable command.
 *
 *   MEDLEDGER_MIGRATE_DRY_RUN=1 npm run migrate -- --network consortium     # print the plan only
 *   npm run migrate -- --network consortium                                  # deploy + migrate
 *
 * Source (1.0):
 *   MEDLEDGER_MIGRATE_SOURCE_RPC    JSON-RPC URL of a node of the 1.0 network (required)
 *   MEDLEDGER_MIGRATE_SOURCE_BOOK   the 1.0 address book (deployments/<old>.json) (required)
 *   MEDLEDGER_MIGRATE_TO_BLOCK      the cut-over block (default: the latest block at the start)
 *   MEDLEDGER_MIGRATE_MAX_RANGE     blocks per eth_getLogs query at most (default 5000)
 *   MEDLEDGER_MIGRATE_MEMBERS       a JSON file of unproven batch members from their manifests:
 *                                   [{ "root", "recordId", "category", "digest", "proof": [] }, …]
 * Migration:
 *   MEDLEDGER_MIGRATE_SECRET_FILE   where the 32-byte salt secret is kept (created, mode 0600, if
 *                                   missing; required unless dry run). Keep it outside the repository.
 *   MEDLEDGER_MIGRATE_OPENINGS      where the label and sealed-terms openings go (default
 *                                   <secret file>.openings.json, mode 0600): hand them to the keyholders
 *   MEDLEDGER_MIGRATE_BATCH_SIZE    imports per batch (default 32)
 * Target (1.1): the network's deployer account is the migrator; governance as for `npm run deploy`
 * (MEDLEDGER_PROPOSERS, MEDLEDGER_TIMELOCK_DELAY, MEDLEDGER_EXECUTORS, MEDLEDGER_GOVERNANCE,
 * MEDLEDGER_DEVELOPMENT, MEDLEDGER_DEPLOYMENTS_DIR).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { network } from "hardhat";

import { migrateFrom10 } from "../sdk/migrate/index.js";
import type { AddressBook10, BatchMember10, MigrateOptions, MigrationResult } from "../sdk/migrate/index.js";
import { deployToFile } from "../sdk/node.js";
import { randomHex32, writeFileAtomic, writeJsonAtomic } from "../sdk/util.js";

const env = (name: string): string | undefined => (process.env[name] === "" ? undefined : process.env[name]);
const required = (name: string): string => {
  const value = env(name);
  if (value === undefined) throw new Error(`${name} is required (see scripts/migrate.ts)`);
  return value;
};
const integer = (name: string): number | undefined => {
  const value = env(name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a non-negative integer, not ${value}`);
  return Number(value);
};
const json = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));

/** The salt secret: read, or created once (0600). */
async function secret(path: string): Promise<string> {
  if (existsSync(path)) {
    const value = readFileSync(path, "utf8").trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new Error(`${path} does not hold 32 bytes of hex`);
    return value;
  }
  const value = randomHex32();
  await writeFileAtomic(path, `${value}\n`, 0o600);
  console.log(`Created the migration secret ${path} (keep it until the openings are handed over)`);
  return value;
}

const conn = await network.create();
try {
  const [deployer] = await conn.ethers.getSigners();
  if (deployer === undefined) throw new Error(`network ${conn.networkName} has no deployer account configured`);
  const dryRun = env("MEDLEDGER_MIGRATE_DRY_RUN") === "1";
  const file = join(env("MEDLEDGER_DEPLOYMENTS_DIR") ?? "deployments", `${conn.networkName}.json`);
  const members = env("MEDLEDGER_MIGRATE_MEMBERS");
  // A dry run computes no commitment: it needs (and creates) no secret.
  const secretFile = dryRun ? undefined : required("MEDLEDGER_MIGRATE_SECRET_FILE");
  const base: MigrateOptions = {
    source: {
      rpc: required("MEDLEDGER_MIGRATE_SOURCE_RPC"),
      addressBook10: json(required("MEDLEDGER_MIGRATE_SOURCE_BOOK")) as AddressBook10,
      toBlock: integer("MEDLEDGER_MIGRATE_TO_BLOCK"),
      logs: {
        maxRange: integer("MEDLEDGER_MIGRATE_MAX_RANGE"),
        onRefusal: (r) => console.log(`  eth_getLogs ${r.fromBlock}..${r.toBlock} refused: ${r.action}`),
      },
    },
    secret: secretFile === undefined ? undefined : await secret(secretFile),
    batchSize: integer("MEDLEDGER_MIGRATE_BATCH_SIZE"),
    batchMembers: members === undefined ? undefined : (json(members) as BatchMember10[]),
    log: (line) => console.log(`  ${line}`),
  };
  if (dryRun) {
    // With an unsealed 1.1 deployment already in the address book, also show what it holds.
    const partial = existsSync(file) ? (json(file) as { contracts?: Record<string, { address: string }> }) : undefined;
    const target =
      partial?.contracts?.ParticipantDirectory === undefined
        ? undefined
        : { signer: deployer, addressBook11: { contracts: partial.contracts } };
    await migrateFrom10({ ...base, dryRun: true, target });
  } else {
    let result: MigrationResult | undefined;
    console.log(`Deploying MedLedger 1.1 to ${conn.networkName} as ${deployer.address} and migrating 1.0 into it`);
    const book = await deployToFile(deployer, {
      network: conn.networkName,
      file,
      governance: {
        governance: env("MEDLEDGER_GOVERNANCE"),
        timelockDelay: env("MEDLEDGER_TIMELOCK_DELAY"),
        proposers: env("MEDLEDGER_PROPOSERS"),
        executors: env("MEDLEDGER_EXECUTORS"),
      },
      development: env("MEDLEDGER_DEVELOPMENT") === "1",
      log: (line) => console.log(`  ${line}`),
      migrate: async (partial) => {
        result = await migrateFrom10({ ...base, target: { signer: deployer, addressBook11: partial } });
      },
    });
    if (result !== undefined) {
      const openings = env("MEDLEDGER_MIGRATE_OPENINGS") ?? `${secretFile}.openings.json`;
      await writeJsonAtomic(openings, {
        format: 1,
        network: conn.networkName,
        cutoverBlock: result.plan.cutoverBlock,
        labels: result.plan.records.map((r) => ({
          subject: r.subject,
          recordId: r.recordId,
          labels: r.labels,
          salt: r.salt,
          custodian: r.custodian,
        })),
        terms: result.plan.consents.map((c) => ({ subject: c.subject, consentId: c.consentId, ...c.opening })),
      });
      for (const line of result.planText) console.log(line);
      console.log(
        `Imported ${Object.values(result.imported).reduce((a, b) => a + b, 0)} item(s) in ${result.elapsedMs} ms`,
      );
      console.log(`Openings written to ${openings} (hand them to the keyholders, then delete them)`);
    }
    console.log(`\nWrote ${file}: chain ${book.chainId}, governance ${book.governance}`);
  }
} finally {
  await conn.close();
}
