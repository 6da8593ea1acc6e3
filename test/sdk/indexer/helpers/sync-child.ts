/**
 * A child process that indexes into a store (an SQLite file or a PostgreSQL URL) in small pages and prints its cursor after
 * every committed page, so a test can kill it mid-sync. Arguments: rpc URL, deployment JSON, store.
 * Runs only as a child (MEDLEDGER_SYNC_CHILD=1): mocha loads every file under test/ and must find
 * nothing to do here.
 */
import { Indexer, openStore } from "../../../../sdk/indexer/index.js";
import type { Deployment } from "../../../../sdk/indexer/index.js";

async function run(): Promise<void> {
  const [rpc, deploymentJson, path] = process.argv.slice(2) as [string, string, string];
  const deployment = JSON.parse(deploymentJson) as Deployment;
  const store = await openStore(path);
  const indexer = await Indexer.create({
    store,
    rpc,
    deployment,
    reader: { maxBlockRange: 4, initialBlockRange: 4, targetLogsPerPage: 20 },
  });
  await indexer.sync({ onProgress: (p) => process.stdout.write(`cursor ${p.cursor}\n`) });
  process.stdout.write("done\n");
  await indexer.close();
}

if (process.env.MEDLEDGER_SYNC_CHILD === "1") await run();
