/**
 * Nodes and a deployment for the indexer suites: anvil on 127.0.0.1 with automine (every
 * transaction its own block, so thousands of operations take seconds, not blocks-per-second), and
 * the four 1.1 contracts deployed with their TypeChain factories and their migration sealed.
 */
import { spawn } from "node:child_process";

import { JsonRpcProvider } from "ethers";
import type { JsonRpcSigner } from "ethers";

import { anvilBinary, freePort } from "../../../../fixtures/nodes.js";
import type { Deployment } from "../../../../sdk/indexer/index.js";
import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../../../types/typechain/index.js";
import type {
  ConsentRegistry,
  KeyholderRegistry,
  ParticipantDirectory,
  RecordRegistry,
} from "../../../../types/typechain/index.js";

export interface TestNode {
  url: string;
  provider: JsonRpcProvider;
  chainId: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** anvil, automine, 40 funded accounts, zero base fee. */
export async function startTestAnvil(): Promise<TestNode> {
  const port = await freePort();
  const args = ["--host", "127.0.0.1", "--port", String(port), "--accounts", "40", "--base-fee", "0"];
  args.push("--gas-price", "0", "--hardfork", "cancun", "--chain-id", "31338", "--silent", "--gas-limit", "60000000");
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  child.stderr.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  const url = `http://127.0.0.1:${port}`;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`anvil exited: ${out}`);
    try {
      await rpc("eth_chainId");
      break;
    } catch {
      if (i > 300) throw new Error(`anvil did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const chainId = Number(await rpc<string>("eth_chainId"));
  const provider = new JsonRpcProvider(url, chainId, {
    staticNetwork: true,
    pollingInterval: 50,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
  return {
    url,
    provider,
    chainId,
    rpc,
    stop: async () => {
      provider.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface Ledger {
  deployment: Deployment;
  governance: JsonRpcSigner;
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
  keyholders: KeyholderRegistry;
}

/** Deploys the four contracts (governance and migrator: account 0) and seals their migration. */
export async function deployLedger(node: TestNode): Promise<Ledger> {
  const governance = await node.provider.getSigner(0);
  const from = await governance.getAddress();
  const start = await node.provider.getBlockNumber();
  const directory = await new ParticipantDirectory__factory(governance).deploy(from, from);
  await directory.waitForDeployment();
  const consents = await new ConsentRegistry__factory(governance).deploy(await directory.getAddress(), from);
  await consents.waitForDeployment();
  const records = await new RecordRegistry__factory(governance).deploy(
    await directory.getAddress(),
    await consents.getAddress(),
    from,
  );
  await records.waitForDeployment();
  const keyholders = await new KeyholderRegistry__factory(governance).deploy(from, await directory.getAddress());
  await keyholders.waitForDeployment();
  for (const c of [directory, consents, records]) await (await c.sealMigration()).wait();
  return {
    deployment: {
      chainId: node.chainId,
      addresses: {
        directory: await directory.getAddress(),
        consents: await consents.getAddress(),
        records: await records.getAddress(),
        keyholders: await keyholders.getAddress(),
      },
      startBlock: start + 1,
    },
    governance,
    directory,
    consents,
    records,
    keyholders,
  };
}
