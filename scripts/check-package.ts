/**
 * The package as an app gets it: packs the built package (`npm pack`), installs the tarball into an
 * empty app with `npm install --omit=dev`, and checks that
 * - the install holds only what the default path needs: no Hardhat, solc, Helia/libp2p or
 *   TypeScript tooling, at most `--max-packages` packages (default 80);
 * - the package ships every file that its README and docs link to (relative links);
 * - `import "medledger"` works in plain Node, seals and opens an envelope, and `ipfs()` without
 *   its optional peer dependency fails with DependencyMissingError naming `helia`.
 * Prints the package count and the disk usage of node_modules (as `du` counts it) (also into `reports/package-install.json`).
 *
 *   npm run build && node scripts/check-package.ts [--max-packages 80]
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, lstat, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";

/** Never in an app's install: build and test tooling, and the IPFS stack (an optional peer). */
const FORBIDDEN = [
  "hardhat",
  "solc",
  "typescript",
  "helia",
  "blockstore-fs",
  "libp2p",
  "react-native",
  "mocha",
  "@nomicfoundation/edr",
];
/** Markdown files whose relative links must resolve inside the package. */
const LINKING = /^(README|CONTRIBUTING)\.md$|^docs\/.*\.md$/;

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
