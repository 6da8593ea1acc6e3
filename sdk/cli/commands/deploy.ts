/**
 * `medledger deploy`: deploys (or resumes, or checks) a MedLedger deployment and hands governance
 * to a timelock or a multisig. Every flag and the deployer key are checked before the node is
 * even contacted; then the same deploy as `npm run deploy` (`deployToFile`) runs.
 *
 * @internal
 */
import { Option } from "commander";
import type { Command } from "commander";
import { Wallet } from "ethers";

import { connectRpc } from "../../chain/provider.js";
import { checkDeployOptions, DEFAULT_TIMELOCK_DELAY, governanceFromFlags, MAX_TIMELOCK_DELAY } from "../../deploy.js";
import { deployToFile } from "../../node.js";
import { nodeFs } from "../../util.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import { addressList, httpUrl, plainName, wholeSeconds, address } from "../parse.js";

interface DeployFlags {
  rpc: string;
  network: string;
  out: string;
  governance?: string;
  timelockDelay: number;
  proposers?: string[];
  executors?: string[];
  development?: boolean;
}

const EXAMPLES = `
Environment:
  MEDLEDGER_DEPLOYER_KEY   the deployer's private key (0x + 64 hex digits); never put it in a file

Examples:
  # A consortium: governance to a timelock (1 day) whose proposers are the members' multisig
  MEDLEDGER_DEPLOYER_KEY=0x… medledger deploy --rpc https://besu.example:8545 --network consortium \\
      --proposers 0xMultisig --timelock-delay 86400

  # Governance straight to a multisig (no timelock)
  medledger deploy --rpc http://127.0.0.1:8545 --network staging --governance 0xMultisig

  # A development chain (anvil, hardhat node): the deployer keeps power; warns on every run
  medledger deploy --rpc http://127.0.0.1:8545 --network localhost --development --timelock-delay 0 --proposers 0xDeployer

Re-running resumes an interrupted deployment, or checks a complete one and changes nothing.
Writes <out>/<network>.json after every step.`;

export function registerDeploy(program: Command, io: CliIo): void {
  program
    .command("deploy")
    .summary("deploy MedLedger (or resume / check a deployment) and hand governance over")
    .description(
      "Deploys the ParticipantDirectory, ConsentRegistry and RecordRegistry, then hands governance to a TimelockController (proposers and delay given here) or to a multisig; the deployer keeps no power. Resumable and repeatable.",
    )
    // Required, but checked in the action: a misspelled option is then reported first.
    .option("--rpc <url>", "JSON-RPC URL of a node of the network (required)", httpUrl)
    .option("--network <name>", "network name: the address book is <out>/<name>.json (required)", plainName)
    .option("--out <dir>", "directory of the address books", "deployments")
    .addOption(
      new Option("--governance <address>", "hand governance to this multisig instead of a timelock")
        .argParser(address("--governance"))
        .conflicts(["proposers", "executors"]),
    )
    .option(
      "--timelock-delay <seconds>",
      `the timelock's delay in seconds (max ${MAX_TIMELOCK_DELAY})`,
      wholeSeconds("--timelock-delay", MAX_TIMELOCK_DELAY),
      DEFAULT_TIMELOCK_DELAY,
    )
    .option(
      "--proposers <addresses>",
      "comma-separated accounts that may schedule governance calls",
      addressList("--proposers"),
    )
    .option(
      "--executors <addresses>",
      "comma-separated accounts that may execute them (default: anyone)",
      addressList("--executors"),
    )
    .option("--development", "allow governance that leaves the deployer in control (development chains only)")
    .addHelpText("after", EXAMPLES)
    .action(async (flags: Partial<DeployFlags>) => {
      if (flags.rpc === undefined)
        throw new UsageError("--rpc <url> is required", "the JSON-RPC URL of a node, e.g. http://127.0.0.1:8545");
      if (flags.network === undefined)
        throw new UsageError("--network <name> is required", "a plain name; the address book is <out>/<name>.json");
      await deploy(flags as DeployFlags, io);
    });
}

async function deploy(flags: DeployFlags, io: CliIo): Promise<void> {
  const key = io.env.MEDLEDGER_DEPLOYER_KEY;
  if (key === undefined || key === "")
    throw new UsageError("MEDLEDGER_DEPLOYER_KEY is not set", "export the deployer's private key (0x + 64 hex digits)");
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new UsageError("MEDLEDGER_DEPLOYER_KEY is not a private key", "expected 0x followed by 64 hex digits");
  const wallet = new Wallet(key);
  const governanceFlags = {
    governance: flags.governance,
    timelockDelay: flags.timelockDelay,
    proposers: flags.proposers?.join(","),
    executors: flags.executors?.join(","),
  };
  // Everything is checked before the node is contacted: nothing is sent on a bad input.
  checkDeployOptions(
    {
      network: flags.network,
      governance: governanceFromFlags(governanceFlags),
      development: flags.development === true,
    },
    wallet.address,
  );
  const provider = await connectRpc(flags.rpc);
  try {
    const file = nodeFs("medledger deploy").path.join(flags.out, `${flags.network}.json`);
    io.out(`Deploying MedLedger to ${flags.network} (${flags.rpc}) as ${wallet.address}\n`);
    const book = await deployToFile(wallet.connect(provider), {
      network: flags.network,
      file,
      governance: governanceFlags,
      development: flags.development === true,
      log: (line) => io.out(`  ${line}\n`),
      warn: (line) => io.err(`${line}\n`),
    });
    io.out(`wrote ${file} (chain ${book.chainId}, governance ${book.governance})\n`);
  } finally {
    provider.destroy();
  }
}
