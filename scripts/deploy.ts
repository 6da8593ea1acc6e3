/**
 * Deploys MedLedger to the selected network and writes deployments/<network>.json.
 *
 *   npm run deploy -- --network localhost
 *   npm run deploy -- --network consortium
 *
 * Repeatable (an existing complete deployment is left unchanged) and resumable (a crashed run is
 * continued from the address book it saved after every step). Governance goes to a
 * TimelockController (MEDLEDGER_TIMELOCK_DELAY seconds, proposers MEDLEDGER_PROPOSERS, executors
 * MEDLEDGER_EXECUTORS, comma-separated) or to a multisig (MEDLEDGER_GOVERNANCE); the deployer keeps
 * no power.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { network } from "hardhat";

import { deployMedLedger } from "../sdk/deploy.js";
import type { PartialAddressBook } from "../sdk/deploy.js";
import { writeJsonAtomic } from "../sdk/keyholder/atomicFile.js";

const conn = await network.create();
const [deployer] = await conn.ethers.getSigners();
if (deployer === undefined) throw new Error(`network ${conn.networkName} has no deployer account configured`);
const file = join(process.env.MEDLEDGER_DEPLOYMENTS_DIR ?? "deployments", `${conn.networkName}.json`);
const previous = await readFile(file, "utf8").then(
  (text) => JSON.parse(text) as PartialAddressBook,
  () => undefined,
);
const list = (value: string | undefined) =>
  value === undefined || value.trim() === "" ? undefined : value.split(",").map((s) => s.trim());
const multisig = process.env.MEDLEDGER_GOVERNANCE;
const governance =
  multisig !== undefined && multisig !== ""
    ? { multisig }
    : {
        timelock: {
          minDelay: Number(process.env.MEDLEDGER_TIMELOCK_DELAY ?? (conn.networkName === "consortium" ? 86_400 : 0)),
          proposers: list(process.env.MEDLEDGER_PROPOSERS),
          executors: list(process.env.MEDLEDGER_EXECUTORS),
        },
      };
console.log(
  `Deploying MedLedger to ${conn.networkName} as ${deployer.address}${previous ? " (resuming from " + file + ")" : ""}`,
);
const book = await deployMedLedger(deployer, {
  network: conn.networkName,
  previous,
  governance,
  onProgress: (b) => writeJsonAtomic(file, b, 0o644),
  log: (line) => console.log(`  ${line}`),
});
console.log(`\nWrote ${file}: chain ${book.chainId}, governance ${book.governance}`);
for (const [name, c] of Object.entries(book.contracts))
  console.log(`  ${name.padEnd(22)} ${c.address}  block ${c.blockNumber}  v${c.version}`);
await conn.close();
