/**
 * First-read latency of a batch member by a reader WITHOUT the writer's journal, at 1 and at 100
 * batches of the subject, on anvil with instant mining (recommended provider options). A first
 * read finds the member's batch with one log query on the batch's tag and fetches one manifest,
 * then proves the member, logs the access and opens the record; the figure must not grow with the
 * number of batches (on main it grew linearly: every manifest was downloaded until the member
 * turned up).
 *
 * - `firstReadMs1Batch`, `firstReadMs100Batches`: median milliseconds of `records.get` of members
 *   never read before (each a different member; at 100 batches, members of the oldest, middle and
 *   newest batches);
 * - `firstReadManifests100Batches`: manifests fetched per first read at 100 batches (1);
 * - `firstReadRpcCalls100Batches`: the reader's JSON-RPC calls per first read.
 *
 *   npx tsx bench/first-read.ts     # prints JSON
 */
import { Wallet, hexlify } from "ethers";

import { MedLedger, RECOMMENDED_PROVIDER_OPTIONS, memoryJournal } from "../sdk/index.js";
import type { RecordId } from "../sdk/index.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import type { Consortium } from "../fixtures/consortium.js";
import { startAnvil } from "../fixtures/nodes.js";
import { CountingProvider, total } from "../fixtures/rpc-counter.js";
import { storeWith } from "../fixtures/storage.js";

export interface FirstReadBenchResult {
  firstReadMs1Batch: number;
  firstReadMs100Batches: number;
  firstReadManifests100Batches: number;
  firstReadRpcCalls100Batches: number;
}

const MEMBERS = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A batch of the doctor's (another writer's journal than the reader's). */
async function batch(c: Consortium, n: number): Promise<RecordId[]> {
  return c.doctor.ml.records.putBatch(
    c.subject,
    Array.from({ length: MEMBERS }, (_, i) => ({
      content: `{"batch":${n},"member":${i}}`,
      category: "OBSERVATIONS" as const,
      mediaType: "application/fhir+json",
    })),
  );
}

export async function benchFirstRead(): Promise<FirstReadBenchResult> {
  const node = await startAnvil({ blockTime: 0 });
  const setup = new CountingProvider(node.url, node.chainId, { ...RECOMMENDED_PROVIDER_OPTIONS, staticNetwork: true });
  const readerRpc = new CountingProvider(node.url, node.chainId, {
    ...RECOMMENDED_PROVIDER_OPTIONS,
    staticNetwork: true,
  });
  try {
    const c = await setUpConsortium({ provider: setup, funder: await node.provider.getSigner(0), funding: 0n });
    await c.admit(["OBSERVATIONS"]);
    // The patient reads on its own provider, with storage that counts manifest fetches.
    let manifests = 0;
    const storage = storeWith(c.storage, {
      getBytes: async (address) => {
        const bytes = await c.storage.getBytes(address);
        if (new TextDecoder().decode(bytes.subarray(0, 40)).includes("medledger-batch")) manifests++;
        return bytes;
      },
    });
    const reader = await MedLedger.create({
      ...c.patient.ml.options,
      signer: new Wallet(hexlify(c.patient.identity.signingKey), readerRpc),
      journal: memoryJournal(),
      storage,
    });
    const firstRead = async (id: RecordId) => {
      readerRpc.take();
      const start = performance.now();
      await reader.records.get(c.subject, id, { purpose: "PATRQT" });
      return { ms: performance.now() - start, calls: total(readerRpc.take()) };
    };

    const batches = [await batch(c, 0)];
    // Warm-up (nonce, code paths), on a member not counted.
    await firstRead(batches[0]![MEMBERS - 1]!);
    const one: number[] = [];
    for (let i = 0; i < 5; i++) one.push((await firstRead(batches[0]![i]!)).ms);

    while (batches.length < 100) batches.push(await batch(c, batches.length));
    const hundred: number[] = [];
    const calls: number[] = [];
    manifests = 0;
    const picks: [number, number][] = [
      [1, 0],
      [50, 3],
      [99, 5],
      [2, 7],
      [98, 1],
    ];
    for (const [b, i] of picks) {
      const r = await firstRead(batches[b]![i]!);
      hundred.push(r.ms);
      calls.push(r.calls);
    }
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      firstReadMs1Batch: round(median(one)),
      firstReadMs100Batches: round(median(hundred)),
      firstReadManifests100Batches: manifests / picks.length,
      firstReadRpcCalls100Batches: median(calls),
    };
  } finally {
    setup.destroy();
    readerRpc.destroy();
    await node.stop();
  }
}

if (process.argv[1]?.endsWith("first-read.ts") === true) {
  console.log(JSON.stringify(await benchFirstRead(), null, 2));
}
