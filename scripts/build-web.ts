/**
 * Bundles the web view's page (web/) with esbuild into dist/web, which a built package serves
 * (`medledger web`); a checkout bundles from source at start-up instead.
 *
 *   npx hardhat run scripts/build-web.ts
 */
import { buildWebAssets } from "../sdk/web/assets.js";

const out = await buildWebAssets();
console.log(`web view assets written to ${out}`);
