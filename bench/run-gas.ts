/** `npm run bench:gas`: the gas table and reports/gas.json. */
import { runGasBench } from "./gas.js";

await runGasBench();
