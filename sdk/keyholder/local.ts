/**
 * The embedded default: n keyholder cores in this process (no HTTP), each with its own SQLite
 * database (a file, or `:memory:`), behind the same {@link KeyholderApi} as the services, and a
 * {@link KeyholderNetwork} over them. For tests and demos that need no separate processes; the
 * keyholders must be registered in KeyholderRegistry like real ones (their identities' accounts and
 * X25519 keys), since the chain stays the trust anchor.
 *
 * @example
 * ```ts
 * import { startLocalKeyholders } from "medledger/keyholder";
 * const { network, stop } = await startLocalKeyholders({ chain, identities });
 * ```
 */
import { join } from "node:path";

import type { Identity } from "../crypto/keystore.js";
import type { ChainView } from "./chainView.js";
import { KeyholderNetwork } from "./client.js";
import { createKeyholderCore } from "./core.js";
import type { CoreConfig, KeyholderCore } from "./core.js";
import { openKeyholderStore } from "./store/sqlite.js";
import { localKeyholder } from "./transport.js";

export interface LocalKeyholders {
  cores: KeyholderCore[];
  network: KeyholderNetwork;
  stop(): void;
}

export async function startLocalKeyholders(p: {
  chain: ChainView;
  identities: Identity[];
  /** A directory for the databases; default in memory. */
  dataDir?: string;
  config?: Partial<CoreConfig>;
}): Promise<LocalKeyholders> {
  const cores: KeyholderCore[] = [];
  for (const [i, identity] of p.identities.entries()) {
    const store = openKeyholderStore(p.dataDir === undefined ? ":memory:" : join(p.dataDir, `keyholder-${i + 1}.db`));
    const core = await createKeyholderCore({
      identity,
      chain: p.chain,
      store,
      ...(p.config ? { config: p.config } : {}),
    });
    const failing = await core.refreshIdentity();
    if (failing.length > 0) {
      store.close();
      throw new Error(`local keyholder ${i + 1} is not ready: ${failing.join("; ")}`);
    }
    cores.push(core);
  }
  const byAccount = new Map(cores.map((c) => [c.account.toLowerCase(), c]));
  const network = await KeyholderNetwork.create({
    chain: p.chain,
    transport: (m) => {
      const core = byAccount.get(m.account.toLowerCase());
      if (core === undefined) throw new Error(`keyholder ${m.id} is not one of the local cores`);
      return localKeyholder(core);
    },
  });
  return { cores, network, stop: () => cores.forEach((c) => c.close()) };
}
