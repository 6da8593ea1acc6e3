#!/usr/bin/env node
/* global process, console */
/**
 * Runs a project command with the tools it needs, on a fresh clone and on any Node from 20 up:
 *
 *   node scripts/bootstrap.mjs [--clean-install] <command> [args...]
 *   node scripts/bootstrap.mjs hardhat test test/sdk/errors.test.ts
 *
 * 1. Node. Hardhat 3 needs Node >= 22.13. On an older Node this fetches Node 24 from the npm
 *    registry (the `node-<os>-<cpu>@24` package, about 50 MB) into `.tools/node24/` once, and runs
 *    itself again with it. Later runs reuse it.
 * 2. Dependencies. When `node_modules` is missing or does not match `package-lock.json` (a
 *    package missing or at another version, for example after a `git pull`, or after an
 *    `npm install` under Node 20, which silently skips Hardhat's native EDR package and Helia),
 *    it runs `npm ci` under that Node. `--clean-install` runs `npm ci` regardless (CI).
 * 3. The command, with that Node and `node_modules/.bin` first on PATH; `node` means this Node.
 *    Extra arguments pass through (`npm test -- <file>`); the exit code is the command's.
 *
 * Plain JavaScript with no dependencies, runnable by Node 20: it is what the npm scripts and
 * `.ci/run` start with. Nothing is written outside the project.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Hardhat 3's floor; the SDK's own floor (package.json `engines`) is lower. */
const TOOLING_NODE = [22, 13];
/** The Node major fetched when the running one is too old. */
const FETCHED_NODE_MAJOR = 24;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TOOLS = join(ROOT, ".tools", `node${FETCHED_NODE_MAJOR}`);
const LOCK = join(ROOT, "package-lock.json");
const INSTALLED_LOCK = join(ROOT, "node_modules", ".package-lock.json");
/** Written after our own `npm ci`: the lock file's hash and the Node that installed it. */
const STAMP = join(ROOT, "node_modules", ".medledger-bootstrap.json");
/** Set in the re-run under the fetched Node, so a broken download cannot loop. */
const REEXEC_FLAG = "MEDLEDGER_BOOTSTRAP_NODE";

function say(message) {
  console.error(`bootstrap: ${message}`);
}

function fail(message) {
  say(message);
  process.exit(1);
}

function nodeIsRecentEnough(version) {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  return major > TOOLING_NODE[0] || (major === TOOLING_NODE[0] && minor >= TOOLING_NODE[1]);
}

/** The npm CLI: the one running us under `npm run`, else `npm` from PATH. */
function npmCommand(args) {
  const cli = process.env.npm_execpath;
  if (cli !== undefined && /\.c?js$/.test(cli) && existsSync(cli)) return [process.execPath, [cli, ...args]];
  return [process.platform === "win32" ? "npm.cmd" : "npm", args];
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    stdio: "inherit",
    cwd: ROOT,
    shell: process.platform === "win32",
    ...options,
  });
  if (result.error !== undefined) fail(`cannot run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

// ── 1. Node ────────────────────────────────────────────────────────────────────────────────────

function fetchedNodeBinary() {
  const os = { linux: "linux", darwin: "darwin", win32: "win" }[process.platform];
  if (os === undefined || !["x64", "arm64"].includes(process.arch)) {
    fail(
      `Node ${process.version} is too old for Hardhat 3 (>= ${TOOLING_NODE.join(".")}), and there is no ` +
        `Node ${FETCHED_NODE_MAJOR} package on npm for ${process.platform}-${process.arch}: install Node >= 22.13 yourself.`,
    );
  }
  const pkg = `node-${os}-${process.arch}`;
  const bin = join(TOOLS, "node_modules", pkg, "bin", os === "win" ? "node.exe" : "node");
  return { pkg, bin };
}

function versionOf(binary) {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensureNode() {
  if (nodeIsRecentEnough(process.version)) return;
  if (process.env[REEXEC_FLAG] !== undefined) {
    fail(`the fetched Node (${process.version}) is still too old; delete .tools/ and try again`);
  }
  const { pkg, bin } = fetchedNodeBinary();
  let version = existsSync(bin) ? versionOf(bin) : undefined;
  if (version === undefined || !nodeIsRecentEnough(version)) {
    say(
      `Node ${process.version} is too old for Hardhat 3 (needs >= ${TOOLING_NODE.join(".")}): ` +
        `fetching Node ${FETCHED_NODE_MAJOR} from the npm registry (${pkg}@${FETCHED_NODE_MAJOR}, ~50 MB) into .tools/ (once)`,
    );
    const [npm, args] = npmCommand([
      "install",
      "--prefix",
      TOOLS,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `${pkg}@${FETCHED_NODE_MAJOR}`,
    ]);
    if (run(npm, args) !== 0) fail(`npm could not install ${pkg}@${FETCHED_NODE_MAJOR}`);
    version = versionOf(bin);
    if (version === undefined) fail(`the fetched Node at ${bin} does not run`);
    say(
      `from now on, project commands run with Node ${version} from .tools/ (this machine's node is ${process.version})`,
    );
  }
  // Run this script again under the fetched Node; its directory goes first on PATH so that every
  // `node`, `npx` and `#!/usr/bin/env node` below uses it too.
  const child = spawn(bin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, [REEXEC_FLAG]: version, PATH: dirname(bin) + delimiter + (process.env.PATH ?? "") },
  });
  forwardExit(child);
  return "re-executed";
}

// ── 2. Dependencies ────────────────────────────────────────────────────────────────────────────

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

let libcCache;
function libc() {
  if (process.platform !== "linux") return undefined;
  libcCache ??= process.report?.getReport().header.glibcVersionRuntime !== undefined ? "glibc" : "musl";
  return libcCache;
}

/** npm's os/cpu/libc rule: a list of names, some negated with "!". */
function listAllows(list, value) {
  if (!Array.isArray(list) || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((item) => !item.startsWith("!"));
  return positive.length === 0 || positive.includes(value);
}

function appliesHere(entry) {
  return (
    listAllows(entry.os, process.platform) &&
    listAllows(entry.cpu, process.arch) &&
    (entry.libc === undefined || listAllows(entry.libc, libc()))
  );
}

function lockHash() {
  return createHash("sha256").update(readFileSync(LOCK)).digest("hex");
}

/**
 * Why node_modules does not match package-lock.json, or undefined when it does. npm records what
 * it installed in node_modules/.package-lock.json; every package the lock file wants on this
 * platform must be there at the same version, with its folder present.
 */
function staleReason() {
  if (!existsSync(join(ROOT, "node_modules"))) return "node_modules is missing";
  const wanted = readJson(LOCK)?.packages;
  if (wanted === undefined) fail("package-lock.json is missing or unreadable");
  const installed = readJson(INSTALLED_LOCK)?.packages;
  if (installed === undefined) return "node_modules has no record of what npm installed";
  const stamp = readJson(STAMP);
  const ourInstall = stamp?.lockHash === lockHash();
  for (const [path, entry] of Object.entries(wanted)) {
    if (!path.startsWith("node_modules/") && !path.includes("/node_modules/")) continue;
    if (entry.link === true || !appliesHere(entry)) continue;
    const have = installed[path];
    if (have === undefined || !existsSync(join(ROOT, path, "package.json"))) {
      // An optional package that npm ci itself could not install (npm skips those) is no reason
      // to install again and again.
      if (entry.optional === true && ourInstall) continue;
      return `${path.replace(/^node_modules\//, "")} is not installed`;
    }
    if (have.version !== entry.version) {
      return `${path.replace(/^node_modules\//, "")} is ${have.version}, the lock file says ${entry.version}`;
    }
  }
  for (const path of Object.keys(installed)) {
    if (wanted[path] === undefined)
      return `${path.replace(/^node_modules\//, "")} is installed but not in the lock file`;
  }
  return undefined;
}

function ensureDependencies(clean) {
  const reason = clean ? "--clean-install" : staleReason();
  if (reason === undefined) return;
  say(`${reason}: npm ci with Node ${process.version} (about a minute)`);
  const started = Date.now();
  const [npm, args] = npmCommand(["ci", "--no-audit", "--no-fund"]);
  if (run(npm, args, { env: childEnv() }) !== 0) fail("npm ci failed");
  writeFileSync(STAMP, JSON.stringify({ lockHash: lockHash(), node: process.version }, null, 2) + "\n");
  say(`npm ci done in ${Math.round((Date.now() - started) / 1000)} s`);
  const still = staleReason();
  if (still !== undefined) fail(`after npm ci, ${still}`);
}

// ── 3. The command ─────────────────────────────────────────────────────────────────────────────

function childEnv() {
  const first = [dirname(process.execPath), join(ROOT, "node_modules", ".bin")];
  const rest = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "" && !first.includes(dir));
  return { ...process.env, PATH: [...first, ...rest].join(delimiter), MEDLEDGER_BOOTSTRAPPED: process.version };
}

function forwardExit(child) {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("error", (err) => fail(`cannot start ${child.spawnfile}: ${err.message}`));
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
}

function main() {
  const argv = process.argv.slice(2);
  const clean = argv[0] === "--clean-install";
  const [command, ...args] = clean ? argv.slice(1) : argv;
  if (command === undefined) fail("usage: node scripts/bootstrap.mjs [--clean-install] <command> [args...]");
  if (ensureNode() === "re-executed") return;
  ensureDependencies(clean);
  const child = spawn(command === "node" ? process.execPath : command, args, {
    stdio: "inherit",
    cwd: process.cwd(),
    env: childEnv(),
    shell: process.platform === "win32",
  });
  forwardExit(child);
}

main();
