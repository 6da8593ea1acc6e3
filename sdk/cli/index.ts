#!/usr/bin/env node
/**
 * The `medledger` command line.
 *
 *   medledger deploy --rpc <url> --network <name> [--out deployments] [--governance <multisig>]
 *                    [--timelock-delay <seconds>] [--proposers <a,b>] [--executors <a,b>]
 *
 * The deployer key comes from the environment (MEDLEDGER_DEPLOYER_KEY), never from a file in the
 * repository. Writes <out>/<network>.json; re-running resumes or changes nothing.
 *
 * @example
 * ```sh
 * MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc http://127.0.0.1:8545 --network consortium --proposers 0xMultisig
 * ```
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { JsonRpcProvider, Wallet } from "ethers";

import { deployMedLedger } from "../deploy.js";
import type { PartialAddressBook } from "../deploy.js";
import { InvalidInputError, MedLedgerError } from "../errors.js";
import { writeJsonAtomic } from "../keyholder/atomicFile.js";

const USAGE = `usage: medledger deploy --rpc <url> --network <name> [--out deployments] [--governance <multisig>]
                         [--timelock-delay <seconds>] [--proposers <a,b>] [--executors <a,b>]
environment: MEDLEDGER_DEPLOYER_KEY (the deployer's private key)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "deploy") {
    console.error(USAGE);
    return command === undefined || command === "--help" ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      rpc: { type: "string" },
      network: { type: "string" },
      out: { type: "string", default: "deployments" },
      governance: { type: "string" },
      "timelock-delay": { type: "string", default: "86400" },
      proposers: { type: "string" },
      executors: { type: "string" },
    },
  });
  const key = process.env.MEDLEDGER_DEPLOYER_KEY;
  if (values.rpc === undefined || values.network === undefined)
    throw new InvalidInputError("--rpc and --network are required", { details: USAGE });
  if (key === undefined || key === "") throw new InvalidInputError("MEDLEDGER_DEPLOYER_KEY is not set");
  if (!/^[a-zA-Z0-9_-]+$/.test(values.network)) throw new InvalidInputError("--network must be a plain name");
  const provider = new JsonRpcProvider(values.rpc);
  const deployer = new Wallet(key, provider);
  const file = join(values.out, `${values.network}.json`);
  const previous = await readFile(file, "utf8").then(
    (t) => JSON.parse(t) as PartialAddressBook,
    () => undefined,
  );
  const list = (v: string | undefined) => (v === undefined ? undefined : v.split(",").map((s) => s.trim()));
  const book = await deployMedLedger(deployer, {
    network: values.network,
    previous,
    governance:
      values.governance !== undefined
        ? { multisig: values.governance }
        : {
            timelock: {
              minDelay: Number(values["timelock-delay"]),
              proposers: list(values.proposers),
              executors: list(values.executors),
            },
          },
    onProgress: (b) => writeJsonAtomic(file, b, 0o644),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`wrote ${file} (chain ${book.chainId}, governance ${book.governance})`);
  provider.destroy();
  return 0;
}

const entry = process.argv[1] ?? "";
if (/medledger$|cli[/\\]index\.[jt]s$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof MedLedgerError ? `${err.code}: ${err.message}` : err);
      process.exit(1);
    },
  );
}
