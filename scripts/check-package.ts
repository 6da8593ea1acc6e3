/**
 * The package as an app gets it: packs the built package (`npm pack`), installs the tarball into an
 * empty app with `npm install --omit=dev`, and checks that
 * - the install holds only what the default path needs: no Hardhat, solc, Helia/libp2p or
 *   TypeScript tooling, at most `--max-packages` packages (default 80);
 * - the package ships every file that its README and docs link to (relative links);
 * - `import "medledger"` works in plain Node, seals and opens an envelope, and `ipfs()` without
 *   its optional peer dependency fails with DependencyMissingError naming `helia`;
 * - every sub-path in package.json's `exports` imports in plain Node without the optional peers
 *   (so none of them loads Fastify, pino or pg at import time), and each part that needs a peer
 *   fails with DependencyMissingError naming it: the keyholder service (`medledger keyholder start`
 *   through `runKeyholder`: fastify, pino), the web server (fastify), the PostgreSQL index (pg).
 * Prints the package count and the disk usage of node_modules (as `du` counts it) (also into `reports/package-install.json`).
 *
 *   npm run build && node scripts/check-package.ts [--max-packages 80]
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, lstat, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";

/**
 * Never in an app's install: build and test tooling, and the optional peers (the IPFS stack, the
 * servers' Fastify and pino, PostgreSQL's pg), which only the parts that use them load.
 */
const FORBIDDEN = [
  "hardhat",
  "solc",
  "typescript",
  "esbuild",
  "helia",
  "blockstore-fs",
  "libp2p",
  "react-native",
  "mocha",
  "@nomicfoundation/edr",
  "fastify",
  "@fastify",
  "pino",
  "pg",
];
/** Markdown files whose relative links must resolve inside the package. */
const LINKING = /^(README|CONTRIBUTING)\.md$|^docs\/.*\.md$/;

/** A valid keyholder config (nothing it names exists: the service must stop at its missing peers first). */
const KEYHOLDER_CONFIG = {
  rpcUrl: "http://127.0.0.1:1",
  addressBook: "missing-deployment.json",
  keystore: "missing-keystore.json",
  dataDir: "keyholder-data",
  logLevel: "silent",
};

const maxIndex = process.argv.indexOf("--max-packages");
const maxPackages = maxIndex > 0 ? Number(process.argv[maxIndex + 1]) : 80;

function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  const [command, argv] = cli !== undefined && /\.c?js$/.test(cli) ? [process.execPath, [cli, ...args]] : ["npm", args];
  const result = spawnSync(command, argv, { cwd, encoding: "utf8" });
  if (result.status !== 0) {
    console.error(result.stdout, result.stderr);
    throw new Error(`npm ${args.join(" ")} failed (exit ${result.status})`);
  }
  return result.stdout;
}

/** Disk usage in bytes, as `du` counts it (allocated blocks). */
async function sizeOf(path: string): Promise<number> {
  const stat = await lstat(path);
  if (!stat.isDirectory()) return stat.blocks * 512;
  let total = stat.blocks * 512;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

const problems: string[] = [];
const work = await mkdtemp(join(tmpdir(), "medledger-package-"));
try {
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], process.cwd())) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = join(work, packed[0]?.filename ?? "missing.tgz");
  const files = new Set(packed[0]?.files.map((f) => f.path));
  for (const doc of [...files].filter((path) => LINKING.test(path))) {
    const text = await readFile(doc, "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target === undefined || /^[a-z]+:|^#/.test(target)) continue;
      const path = posix.normalize(posix.join(posix.dirname(doc), target.replace(/#.*$/, "")));
      const shipped = files.has(path) || [...files].some((file) => file.startsWith(`${path.replace(/\/$/, "")}/`));
      if (!shipped) problems.push(`${doc} links to ${target}, which the package does not ship`);
    }
  }

  const app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  npm(["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball], app);

  const installed = JSON.parse(await readFile(join(app, "node_modules", ".package-lock.json"), "utf8")) as {
    packages: Record<string, unknown>;
  };
  const names = Object.keys(installed.packages).map((path) => path.replace(/^.*node_modules\//, ""));
  for (const name of names) {
    if (FORBIDDEN.some((bad) => name === bad || name.startsWith(`${bad}-`) || name.startsWith(`${bad}/`))) {
      problems.push(`the app install contains ${name}`);
    }
  }
  if (names.length > maxPackages)
    problems.push(`the app install has ${names.length} packages (at most ${maxPackages})`);
  const bytes = await sizeOf(join(app, "node_modules"));

  await writeFile(
    join(app, "smoke.js"),
    `import { DependencyMissingError, generateDataKey, ipfs, openBytes, sealBytes } from "medledger";
const context = { recordId: new Uint8Array(32).fill(1), subjectId: new Uint8Array(32).fill(2), chainId: 1n,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const key = generateDataKey();
const opened = await openBytes(await sealBytes(new TextEncoder().encode("hello"), { key, context }), { key, context });
if (new TextDecoder().decode(opened) !== "hello") throw new Error("seal/open round trip failed");
try {
  await ipfs();
  throw new Error("ipfs() worked without helia");
} catch (err) {
  if (!(err instanceof DependencyMissingError) || !err.details.includes("npm install helia")) throw err;
  console.log("ipfs() without helia: " + err.shortMessage + " (" + err.details + ")");
}
`,
  );
  const smoke = spawnSync(process.execPath, ["smoke.js"], { cwd: app, encoding: "utf8" });
  process.stdout.write(smoke.stdout);
  if (smoke.status !== 0) problems.push(`the app's smoke test failed:\n${smoke.stderr}`);

  // Every sub-path the package exports, imported in plain Node with no optional peer installed.
  const manifest = JSON.parse(await readFile("package.json", "utf8")) as {
    exports: Record<string, unknown>;
    peerDependencies: Record<string, string>;
  };
  const subpaths = Object.keys(manifest.exports)
    .filter((key) => key !== "./package.json")
    .map((key) => (key === "." ? "medledger" : `medledger/${key.slice(2)}`));
  await writeFile(join(app, "kh.json"), JSON.stringify(KEYHOLDER_CONFIG));
  await writeFile(
    join(app, "subpaths.js"),
    `import { DependencyMissingError } from "medledger";
const failures = [];
for (const name of ${JSON.stringify(subpaths)}) {
  try {
    const module = await import(name);
    console.log("import " + name + ": " + Object.keys(module).length + " exports");
  } catch (err) {
    failures.push("import " + name + " failed: " + (err && err.message));
  }
}
/** Runs \`run\`; it must throw DependencyMissingError whose message names every package of \`names\`. */
async function needs(what, names, run) {
  try {
    await run();
    failures.push(what + " worked without " + names.join(", "));
  } catch (err) {
    const text = err instanceof DependencyMissingError ? err.shortMessage + " " + err.details : "";
    if (!names.every((name) => text.includes("npm install") && text.includes(name))) {
      failures.push(what + " without " + names.join(", ") + ": not a DependencyMissingError naming them: " + (err && err.stack));
    } else console.log(what + ": " + err.shortMessage + " (" + err.details + ")");
  }
}
const service = await import("medledger/keyholder/service");
await needs("keyholder service", ["fastify", "pino"], () => service.startKeyholderService({}, { passphrase: "x" }));
await needs("keyholder server", ["fastify"], () => service.buildKeyholderServer({}));
const web = await import("medledger/web");
await needs("web server", ["fastify"], () => web.startWebServer({}));
const indexer = await import("medledger/indexer");
await needs("PostgreSQL index", ["pg"], () => indexer.openPostgresStore({ url: "postgres://medledger@127.0.0.1:1/none" }));
await needs("PostgreSQL index through openStore", ["pg"], () => indexer.openStore("postgres://medledger@127.0.0.1:1/none"));
// \`medledger keyholder start --config kh.json\` runs runKeyholder: one JSON line naming what to install.
const lines = [];
const write = process.stderr.write;
process.stderr.write = (chunk) => (lines.push(String(chunk)), true);
process.env.MEDLEDGER_KEYHOLDER_PASSPHRASE = "check-package";
const code = await service.runKeyholder("kh.json").finally(() => (process.stderr.write = write));
const line = lines.join("");
if (code !== 1 || !line.includes("ML_DEPENDENCY_MISSING") || !line.includes("npm install fastify pino")) {
  failures.push("keyholder start without fastify/pino: exit " + code + ", " + line);
} else console.log("keyholder start without fastify/pino: exit 1, " + line.trim());
if (failures.length > 0) {
  console.error(failures.join("\\n"));
  process.exit(1);
}
`,
  );
  const sub = spawnSync(process.execPath, ["subpaths.js"], { cwd: app, encoding: "utf8" });
  process.stdout.write(sub.stdout);
  if (sub.status !== 0) problems.push(`the sub-path check failed:\n${sub.stderr}`);

  // With the server peers installed (as an operator does), the same parts load them and work.
  const peers = ["fastify", "pino", "pg"].map((name) => `${name}@${manifest.peerDependencies[name] ?? "latest"}`);
  npm(["install", "--no-save", "--no-audit", "--no-fund", "--prefer-offline", ...peers], app);
  await writeFile(
    join(app, "peers.js"),
    `import { buildKeyholderServer, keyholderLogger } from "medledger/keyholder/service";
import { openPostgresStore } from "medledger/indexer";
const app = buildKeyholderServer({ core: {}, ready: async () => [], logger: keyholderLogger({ level: "silent" }) });
const health = await app.inject({ method: "GET", url: "/health" });
await app.close();
if (health.statusCode !== 200) throw new Error("keyholder /health answered " + health.statusCode);
try {
  await openPostgresStore({ url: "postgres://medledger@127.0.0.1:1/none" });
  throw new Error("connected to a closed port");
} catch (err) {
  if (err.reason !== "STORE_UNAVAILABLE") throw err;
}
console.log("with fastify, pino and pg installed: keyholder /health 200, PostgreSQL store loads pg");
`,
  );
  const withPeers = spawnSync(process.execPath, ["peers.js"], { cwd: app, encoding: "utf8" });
  process.stdout.write(withPeers.stdout);
  if (withPeers.status !== 0) problems.push(`with the server peers installed, the check failed:\n${withPeers.stderr}`);

  const report = { appInstallPackages: names.length, appInstallMiB: Math.round((bytes / 2 ** 20) * 10) / 10 };
  console.log(
    `app install (npm install --omit=dev medledger): ${report.appInstallPackages} packages, ${report.appInstallMiB} MiB`,
  );
  await mkdir("reports", { recursive: true });
  await writeFile(join("reports", "package-install.json"), JSON.stringify(report, null, 2) + "\n");
} finally {
  await rm(work, { recursive: true, force: true });
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`check-package: ${problem}`);
  process.exit(1);
}
console.log("check-package: ok");
