/**
 * Starts a keyholder service from its configuration: opens the database, loads the identity from
 * the keystore, connects to its own RPC node, serves HTTP, and runs the background jobs (erasure
 * watcher, pending-share sweeper, nonce pruning, release-log anchoring at a fixed cadence).
 * `stop()` stops accepting, lets in-flight requests finish, stops the jobs and closes the database.
 *
 * @example
 * ```ts
 * import { readKeyholderConfig, startKeyholderService } from "medledger/keyholder/service";
 * const service = await startKeyholderService(await readKeyholderConfig("keyholder.json"), { passphrase });
 * process.once("SIGTERM", () => service.stop());
 * ```
 */
import { join } from "node:path";

import { JsonRpcProvider, Wallet, hexlify } from "ethers";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";

import { readAddressBook } from "../../node.js";
import { loadKeystore } from "../../crypto/keystore-file.js";
import { IKeyholderRegistry__factory } from "../../../types/typechain/index.js";
import { contractAggregationChain } from "../aggregation/chain.js";
import { createAggregationServer } from "../aggregation/server.js";
import { openAggregationStore } from "../aggregation/store.js";
import { contractChainView } from "../chainContracts.js";
import { createKeyholderCore } from "../core.js";
import type { KeyholderCore } from "../core.js";
import { openKeyholderStore } from "../store/sqlite.js";
import type { KeyholderConfig } from "./config.js";
import { buildKeyholderServer, keyholderLogger, keyholderServiceDependencies } from "./server.js";

export interface RunningKeyholder {
  app: FastifyInstance;
  core: KeyholderCore;
  /** `http://host:port` actually bound (port 0 in the config picks a free one). */
  url: string;
  /** Runs one anchoring round now (tests; the timer does it at the configured cadence). */
  anchorNow(): Promise<{ seq: number; head: string; txHash: string } | undefined>;
  stop(): Promise<void>;
}

export async function startKeyholderService(
  config: KeyholderConfig,
  opts: { passphrase: string; logger?: Logger; now?: () => number },
): Promise<RunningKeyholder> {
  // The optional peers (fastify, pino) first: a missing one fails before anything is opened.
  keyholderServiceDependencies();
  const logger = opts.logger ?? keyholderLogger({ level: config.logLevel });
  const identity = await loadKeystore(config.keystore, opts.passphrase);
  const book = await readAddressBook(config.addressBook);
  const provider = new JsonRpcProvider(config.rpcUrl, book.chainId, {
    staticNetwork: true,
    pollingInterval: 500,
    cacheTimeout: -1,
  });
  const chain = await contractChainView({ provider, addressBook: book, blockCacheMs: config.blockCacheMs });
  const store = openKeyholderStore(join(config.dataDir, "keyholder.db"));
  const core = await createKeyholderCore({
    identity,
    chain,
    store,
    config,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  const signer = new Wallet(hexlify(identity.signingKey), provider);
  const registry = IKeyholderRegistry__factory.connect(chain.keyholderRegistry, signer);
  // Research (issue 12): the keyholder is also an aggregation server when the deployment has studies.
  const aggregationStore =
    book.contracts.StudyRegistry === undefined
      ? undefined
      : openAggregationStore(join(config.dataDir, "aggregation.db"));
  const aggregation =
    aggregationStore === undefined
      ? undefined
      : createAggregationServer({
          identity,
          chain: contractAggregationChain({ provider, addressBook: book, signer }),
          store: aggregationStore,
          keyholderId: () => core.keyholderId,
        });

  const failing = await core.refreshIdentity();
  if (failing.length > 0) logger.warn({ failing }, "not ready yet");

  let anchoring = false;
  async function anchorNow() {
    if (anchoring || core.keyholderId === 0) return undefined;
    anchoring = true;
    try {
      const { seq, head } = await core.prepareAnchor(config.anchorPadQuantum);
      const tx = await registry.anchorReleaseLog(core.keyholderId, seq, head);
      store.putAnchor(seq, head, tx.hash, Math.floor(Date.now() / 1000));
      await tx.wait(1);
      logger.info({ seq }, "release log anchored");
      return { seq, head, txHash: tx.hash };
    } catch (err) {
      logger.warn({ err: String((err as Error).message).slice(0, 200) }, "anchoring failed");
      return undefined;
    } finally {
      anchoring = false;
    }
  }

  const timers: NodeJS.Timeout[] = [];
  const every = (seconds: number, job: () => Promise<unknown>, name: string) => {
    if (seconds <= 0) return;
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      job()
        .catch((err: unknown) =>
          logger.warn({ job: name, err: String((err as Error).message).slice(0, 200) }, "job failed"),
        )
        .finally(() => (running = false));
    }, seconds * 1000);
    t.unref();
    timers.push(t);
  };
  every(
    config.eraseWatchIntervalSeconds,
    () => (core.keyholderId === 0 ? Promise.resolve(0) : core.watchErasures()),
    "erasures",
  );
  every(60, () => core.sweepPending(), "pending");
  every(60, async () => core.pruneNonces(), "nonces");
  every(15, async () => core.keyholderId === 0 && core.refreshIdentity(), "identity");
  every(config.anchorIntervalSeconds, anchorNow, "anchor");

  const app = buildKeyholderServer({
    core,
    ready: () => core.refreshIdentity(),
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(aggregation === undefined ? {} : { aggregation }),
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  const url = `http://${config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host}:${port}`;
  logger.info({ url, keyholderId: core.keyholderId, account: core.account }, "listening");

  let stopped: Promise<void> | undefined;
  return {
    app,
    core,
    url,
    anchorNow,
    stop() {
      stopped ??= (async () => {
        for (const t of timers) clearInterval(t);
        await app.close();
        while (anchoring) await new Promise((r) => setTimeout(r, 20));
        store.close();
        aggregationStore?.close();
        provider.destroy();
        logger.info("stopped");
      })();
      return stopped;
    },
  };
}
