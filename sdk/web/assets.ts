/**
 * The page's assets, served by MedLedger itself (no CDN): `index.html`, `app.js` and `app.css`.
 *
 * In a checkout (web/src present and esbuild installed) they are bundled from source when the
 * server starts, so a change to the page needs no separate build; a built package serves the copy
 * `npm run build` wrote to dist/web (see {@link buildWebAssets}).
 *
 * @example
 * ```ts
 * import { loadWebAssets } from "medledger/web";
 * const assets = await loadWebAssets();
 * assets.get("/assets/app.js")!.type; // "text/javascript; charset=utf-8"
 * ```
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type * as Esbuild from "esbuild";

import { DependencyMissingError } from "../errors.js";

type EsbuildModule = typeof Esbuild;

export interface Asset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The package root: the nearest folder above this module with MedLedger's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "web"))) return dir;
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "dist", "web"))) return dir;
    dir = dirname(dir);
  }
  throw new DependencyMissingError("Cannot find the web view's assets", {
    details: "neither web/ (a checkout) nor dist/web (a built package) is next to package.json",
  });
}

/** Bundles web/src/main.ts and copies web/index.html and web/app.css (in memory). */
export async function bundleWebSources(root = packageRoot()): Promise<Map<string, Buffer>> {
  let esbuild: EsbuildModule;
  try {
    esbuild = await import("esbuild");
  } catch (err) {
    throw new DependencyMissingError("Bundling the web view needs esbuild (a development dependency)", {
      cause: err,
    });
  }
  const result = await esbuild.build({
    entryPoints: [join(root, "web", "src", "main.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: ["es2022"],
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const files = new Map<string, Buffer>();
  files.set("app.js", Buffer.from(result.outputFiles[0]!.contents));
  files.set("index.html", await readFile(join(root, "web", "index.html")));
  files.set("app.css", await readFile(join(root, "web", "app.css")));
  return files;
}

/** Writes the bundled assets to `outDir` (default dist/web): what `npm run build` ships. */
export async function buildWebAssets(outDir?: string): Promise<string> {
  const root = packageRoot();
  const out = outDir ?? join(root, "dist", "web");
  await mkdir(out, { recursive: true });
  for (const [name, body] of await bundleWebSources(root)) await writeFile(join(out, name), body);
  return out;
}

/** The assets by URL path. */
export async function loadWebAssets(): Promise<Map<string, Asset>> {
  const root = packageRoot();
  let files: Map<string, Buffer>;
  if (existsSync(join(root, "web", "src", "main.ts"))) {
    files = await bundleWebSources(root);
  } else {
    files = new Map();
    for (const name of ["index.html", "app.js", "app.css"]) {
      files.set(name, await readFile(join(root, "dist", "web", name)));
    }
  }
  const assets = new Map<string, Asset>();
  for (const [name, body] of files) {
    const type = TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
    assets.set(name === "index.html" ? "/" : `/assets/${name}`, { body, type });
  }
  return assets;
}
