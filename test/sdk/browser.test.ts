/**
 * The package root is browser-safe: the BUILT `dist/sdk/index.js` bundles for the browser with no
 * Node built-in import, and the bundle runs in a context without `process`, `Buffer` or
 * `require`. (On main the root re-exported the FHIR validator, whose static `node:fs` import broke
 * every browser bundle.) Only IPFS's optional peer packages stay external: an app that calls
 * `ipfs()` installs them.
 */
import { createContext, runInContext } from "node:vm";

import { expect } from "chai";
import { build } from "esbuild";
import type { BuildOptions, Metafile } from "esbuild";

import { BUILT_ROOT, ensureBuilt } from "../../fixtures/build.js";

const OPTIONAL_PEERS = ["helia", "blockstore-fs", "interface-datastore"];

async function bundle(entry: string, extra: Partial<BuildOptions> = {}) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "medledger",
    write: false,
    metafile: true,
    logLevel: "silent",
    external: OPTIONAL_PEERS,
    ...extra,
  });
  const meta = result.metafile as Metafile;
  const imports = Object.values(meta.outputs).flatMap((o) => o.imports.map((i) => i.path));
  return { text: result.outputFiles![0]!.text, imports, inputs: Object.keys(meta.inputs) };
}

describe("the package root in a browser", function () {
  this.timeout(180_000);
  before(async () => ensureBuilt());

  it("bundles for platform=browser with no node: import and without the FHIR validator", async () => {
    const { imports, inputs } = await bundle(BUILT_ROOT);
    expect(imports.filter((p) => !OPTIONAL_PEERS.includes(p))).to.deep.equal([]);
    expect(inputs.some((i) => i.includes("/dist/sdk/fhir/") || i.includes("fhir-json-schema-validator"))).to.equal(
      false,
    );
    expect(inputs.some((i) => i.includes("/dist/sdk/node.js") || i.includes("/dist/sdk/cli/"))).to.equal(false);
  });

  it("runs without process, Buffer or require: names, storage, sealing", async () => {
    const { text } = await bundle(BUILT_ROOT);
    // A fresh realm: its own Uint8Array; only web APIs a browser has are handed in.
    const sandbox: Record<string, unknown> = {
      crypto: globalThis.crypto,
      URL,
      console,
      setTimeout,
      clearTimeout,
      queueMicrotask,
      AbortController,
      AbortSignal,
      ReadableStream,
      WritableStream,
      TransformStream,
      atob,
      btoa,
      fetch,
    };
    createContext(sandbox);
    runInContext(
      `globalThis.self = globalThis;
       // UTF-8 of this realm (a browser's TextEncoder returns its own realm's Uint8Array).
       globalThis.TextEncoder = class { encode(s = "") { return new Uint8Array([...unescape(encodeURIComponent(s))].map((c) => c.charCodeAt(0))); } };
       globalThis.TextDecoder = class { decode(b) { return decodeURIComponent(escape(String.fromCharCode(...(b ?? [])))); } };`,
      sandbox,
    );
    runInContext(text, sandbox);
    const result = (await runInContext(
      `(async () => {
        const m = medledger;
        const out = { globals: typeof process + typeof Buffer + typeof require };
        out.mask = m.categoryMask(["NOTES"]);
        try { m.categoryMask(["constructor"]); } catch (e) { out.refused = e.name + ": " + e.shortMessage; }
        const store = m.memory();
        const address = await store.put(new TextEncoder().encode("hello"));
        out.stored = new TextDecoder().decode(await store.getBytes(address));
        out.backend = m.defaultBackend().name;
        const key = m.generateDataKey();
        const context = { recordId: new Uint8Array(32), subjectId: new Uint8Array(32), chainId: 1n, registry: "0x" + "11".repeat(20) };
        const sealed = await m.sealBytes(new TextEncoder().encode("sealed in a browser"), { key, context });
        out.opened = new TextDecoder().decode(await m.openBytes(sealed, { key, context }));
        return out;
      })()`,
      sandbox,
    )) as Record<string, unknown>;
    expect(result).to.deep.equal({
      globals: "undefinedundefinedundefined",
      mask: 1 << 8,
      refused: 'InvalidInputError: Unknown category: categories[0] = "constructor"',
      stored: "hello",
      backend: "noble",
      opened: "sealed in a browser",
    });
  });

  it("control: the Node-only entry points do not bundle for the browser", async () => {
    const fhir = await bundle(BUILT_ROOT.replace(/index\.js$/, "fhir/index.js")).then(
      (b) => b.imports,
      (err: unknown) => (err as Error).message,
    );
    expect(JSON.stringify(fhir)).to.match(/node:|fs|path/);
  });
});
