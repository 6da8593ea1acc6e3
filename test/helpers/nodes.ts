/**
 * Real EVM nodes for the compatibility suite: `hardhat node` and anvil, on 127.0.0.1, on free
 * ports, blocks every second and zero gas price (like a QBFT network). Each test starts and stops
 * its own nodes.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";

import { JsonRpcProvider } from "ethers";

const require = createRequire(import.meta.url);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface RunningNode {
  kind: "hardhat" | "anvil";
  url: string;
  port: number;
  chainId: number;
  provider: JsonRpcProvider;
  /** Stops the node (anvil dumps its state when started with `stateFile`). */
  stop(): Promise<void>;
  /** Output so far, for failure messages. */
  log(): string;
}

export function anvilBinary(): string {
  const pkg = require.resolve(
    `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}/package.json`,
  );
  return join(dirname(pkg), "bin", "anvil");
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const body = (await res.json()) as { result?: string };
      if (body.result !== undefined) return Number(body.result);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`node at ${url} did not start:\n${output()}`);
}

function run(kind: RunningNode["kind"], command: string, args: string[], port: number): Promise<RunningNode> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  return waitReady(url, child, () => out).then((chainId) => {
    const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 250, cacheTimeout: -1 });
    return {
      kind,
      url,
      port,
      chainId,
      provider,
      log: () => out,
      stop: async () => {
        provider.destroy();
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  });
}

/** `hardhat node --network qbftLike`: interval mining (1 s), zero gas price, chain id 31337. */
export async function startHardhatNode(): Promise<RunningNode> {
  const port = await freePort();
  const hardhat = join(process.cwd(), "node_modules", ".bin", "hardhat");
  return run(
    "hardhat",
    hardhat,
    ["node", "--network", "qbftLike", "--hostname", "127.0.0.1", "--port", String(port)],
    port,
  );
}

/** anvil: blocks every second, zero gas price and base fee, Cancun, its own chain id; optional state file. */
export async function startAnvil(
  opts: { stateFile?: string; chainId?: number; port?: number } = {},
): Promise<RunningNode> {
  const port = opts.port ?? (await freePort());
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--block-time",
    "1",
    "--gas-price",
    "0",
    "--base-fee",
    "0",
    "--hardfork",
    "cancun",
    "--chain-id",
    String(opts.chainId ?? 1337),
    "--silent",
  ];
  if (opts.stateFile !== undefined) args.push("--state", opts.stateFile);
  return run("anvil", anvilBinary(), args, port);
}
