/**
 * Writes sdk/chain/runtime-code.ts from the compiled artifacts: for each deployable contract, the
 * keccak256 of its runtime code with the immutables zeroed and the compiler's metadata trailer
 * removed, and where its immutables are. The SDK compares deployed code against these hashes
 * (deploy resume, MedLedger.create). Run after changing a contract:
 *
 *   npx hardhat build && npx tsx scripts/runtime-code.ts
 *
 * test/sdk/chain/runtime-code.test.ts fails while the file is stale.
 */
import { readFile, writeFile } from "node:fs/promises";

import * as prettier from "prettier";

import { runtimeCodeModule } from "../fixtures/runtime-code.js";

const out = new URL("../sdk/chain/runtime-code.ts", import.meta.url);
const raw = await runtimeCodeModule((path) => readFile(new URL(`../${path}`, import.meta.url), "utf8"));
const text = await prettier.format(raw, {
  ...(await prettier.resolveConfig(out)),
  filepath: out.pathname,
});
const before = await readFile(out, "utf8").catch(() => "");
if (before === text) console.log("sdk/chain/runtime-code.ts is up to date");
else {
  await writeFile(out, text);
  console.log("wrote sdk/chain/runtime-code.ts");
}
