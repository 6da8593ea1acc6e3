/**
 * Optional peer dependencies: packages that only one part of MedLedger needs (Helia for `ipfs()`,
 * Fastify and pino for the keyholder service and the web view, pg for the PostgreSQL index). An
 * app that never uses that part never installs them; the part loads them when it runs and, when
 * one is missing, throws one {@link DependencyMissingError} naming every missing package and the
 * `npm install` line that adds them. Browser-safe (dynamic `import()` only); the synchronous
 * variant for Node-only code is in `./peers-node.ts`.
 *
 * @example
 * ```ts
 * const { pg } = await loadOptionalDependencies({ pg: () => import("pg") }, ["pg"], "The PostgreSQL index");
 * ```
 *
 * @internal
 * @module
 */
import { DependencyMissingError } from "./errors.js";

/** True when `err` says that the package `name` itself cannot be found (not one of its files). */
export function isNotInstalled(err: unknown, name: string): boolean {
  const message = err instanceof Error ? err.message : String(err);
  // Node ESM: "Cannot find package 'helia' imported from …"; Node require: "Cannot find module 'pg'";
  // browsers and bundlers: "… specifier 'helia' …".
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}

/** The error for an installed peer that fails to load (its own error is the cause). */
export function brokenPeerError(name: string, cause: unknown): DependencyMissingError {
  return new DependencyMissingError(`The optional peer dependency "${name}" is installed but failed to load`, {
    details: `reinstall it: npm install ${name}`,
    cause,
  });
}

/** The error for peers that are not installed: names each one and the command that adds them. */
export function missingPeersError(feature: string, missing: readonly string[], cause: unknown): DependencyMissingError {
  const one = missing.length === 1;
  return new DependencyMissingError(
    `${feature} needs the optional peer ${one ? "dependency" : "dependencies"} ` +
      `${missing.map((name) => `"${name}"`).join(", ")}, which ${one ? "is" : "are"} not installed`,
    { details: `install ${one ? "it" : "them"} next to medledger: npm install ${missing.join(" ")}`, cause },
  );
}

/**
 * @internal Imports the optional peer dependencies `names` with their `loaders`. Throws one
 * DependencyMissingError naming every package that is not installed and the command that installs
 * them; a package that is installed but fails to load gives a DependencyMissingError with the
 * loader's error as `cause`. `feature` names what needs them, e.g. "The IPFS store".
 */
export async function loadOptionalDependencies<
  T extends Record<string, () => Promise<unknown>>,
  K extends keyof T & string,
>(loaders: T, names: readonly K[], feature = "The IPFS store"): Promise<{ [P in K]: Awaited<ReturnType<T[P]>> }> {
  const results = await Promise.allSettled(names.map((name) => (loaders[name] as () => Promise<unknown>)()));
  const missing: string[] = [];
  let firstCause: unknown;
  for (const [i, result] of results.entries()) {
    if (result.status === "fulfilled") continue;
    const name = names[i] as string;
    if (!isNotInstalled(result.reason, name)) throw brokenPeerError(name, result.reason);
    missing.push(name);
    firstCause ??= result.reason;
  }
  if (missing.length > 0) throw missingPeersError(feature, missing, firstCause);
  const loaded = results.map((result) => (result as PromiseFulfilledResult<unknown>).value);
  return Object.fromEntries(names.map((name, i) => [name, loaded[i]])) as { [P in K]: Awaited<ReturnType<T[P]>> };
}
