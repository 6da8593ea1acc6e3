/**
 * Deploys MedLedger to the selected Hardhat network and writes deployments/<network>.json: the
 * same deploy as the `medledger deploy` command (`deployToFile` in sdk/node.ts), with the
 * network's configured account as deployer.
 *
 *   npm run deploy -- --network localhost
 *   npm run deploy -- --network consortium
 *
 * Governance (the deployer keeps no power): MEDLEDGER_PROPOSERS (comma-separated) and
 * MEDLEDGER_TIMELOCK_DELAY (seconds, default 86400) for a TimelockController, optional
 * MEDLEDGER_EXECUTORS; or MEDLEDGER_GOVERNANCE (a multisig). MEDLEDGER_DEVELOPMENT=1 allows
 * settings that leave the deployer in control, on development chains only (it warns every run).
 * MEDLEDGER_DEPLOYMENTS_DIR changes the output directory.
 */
import { join } from "node:path";

import { network } from "hardhat";

import { deployToFile } from "../sdk/node.js";

const conn = await network.create();
try {
  const [deployer] = await conn.ethers.getSigners();
  if (deployer === undefined) throw new Error(`network ${conn.networkName} has no deployer account configured`);
  const file = join(process.env.MEDLEDGER_DEPLOYMENTS_DIR ?? "deployments", `${conn.networkName}.json`);
  const env = (name: string) => (process.env[name] === "" ? undefined : process.env[name]);
  console.log(`Deploying MedLedger to ${conn.networkName} as ${deployer.address}`);
  const book = await deployToFile(deployer, {
    network: conn.networkName,
    file,
    governance: {
      governance: env("MEDLEDGER_GOVERNANCE"),
      timelockDelay: env("MEDLEDGER_TIMELOCK_DELAY"),
      proposers: env("MEDLEDGER_PROPOSERS"),
      executors: env("MEDLEDGER_EXECUTORS"),
    },
    development: process.env.MEDLEDGER_DEVELOPMENT === "1",
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`\nWrote ${file}: chain ${book.chainId}, governance ${book.governance}`);
  for (const [name, c] of Object.entries(book.contracts))
    console.log(`  ${name.padEnd(22)} ${c.address}  block ${c.blockNumber}  v${c.version}`);
} finally {
  await conn.close();
}
