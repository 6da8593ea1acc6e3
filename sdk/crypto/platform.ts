/**
 * Access to Node built-in modules without a static import, so every file of the crypto module
 * still loads in a browser bundle.
 *
 * `process.getBuiltinModule` (Node ≥ 22.3, Deno, Bun) is synchronous, needs no top-level await and
 * is invisible to bundlers; in a browser `process` is absent and this returns `undefined`.
 */

/** The built-in module `id` (e.g. "node:crypto"), or undefined on platforms without it. */
export function nodeBuiltin<T>(id: string): T | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}
