/**
 * Records the other platforms' optional binary packages in package-lock.json.
 *
 * npm omits from the lock file the platform-specific optional packages (anvil, Hardhat's EDR) that
 * it did not install here, and `npm ci` then refuses the lock file ("Missing: … from lock file").
 * This adds an entry for each, marked optional with its os/cpu (and libc), so `npm ci` on Linux
 * skips them and on other platforms knows what to fetch. Run after changing dependencies:
 *
 *   node scripts/lock-platform-stubs.ts
 */
import { readFileSync, writeFileSync } from "node:fs";

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

const path = "package-lock.json";
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, LockEntry> };

function platformOf(name: string): Pick<LockEntry, "os" | "cpu" | "libc"> | undefined {
  const os = ["darwin", "linux", "win32", "freebsd", "android"].find((o) => name.includes(`-${o}-`));
  const cpu = name.includes("arm64") ? "arm64" : /x64|amd64/.test(name) ? "x64" : undefined;
  if (os === undefined || cpu === undefined) return undefined;
  const libc = name.endsWith("-musl") ? ["musl"] : name.endsWith("-gnu") ? ["glibc"] : undefined;
  return { os: [os], cpu: [cpu], ...(libc === undefined ? {} : { libc }) };
}

let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    const nested = `${key}/node_modules/${dep}`;
    if (lock.packages[depKey] !== undefined || lock.packages[nested] !== undefined) continue;
    const platform = platformOf(dep);
    if (platform === undefined || !/^\d+\.\d+\.\d+/.test(version)) continue;
    lock.packages[depKey] = { version, ...(entry.dev === true ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`lock-platform-stubs: added ${added} optional platform entries`);
