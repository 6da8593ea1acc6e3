/**
 * Joining and leaving: moves a record's shares from the epoch they were made for to the
 * registry's current epoch without assembling the key anywhere (Desmedt–Jajodia redistribution;
 * docs/keyholders.md, "Joining and leaving"). The coordinator is any active keyholder's operator;
 * it relays sealed sub-shares and attestations and learns nothing.
 *
 * @example
 * ```ts
 * import { reshareAll } from "medledger/keyholder";
 * const moved = await reshareAll({ network, coordinator: keyholderWallet });
 * ```
 */
import { randomBytes } from "ethers";

import type { Hex } from "../types.js";
import type { KeyholderMember } from "./chainView.js";
import type { AccountSigner, KeyholderNetwork } from "./client.js";
import { KeyReleaseRefusedError } from "./client.js";
import { RESHARE_DEAL_TYPES, RESHARE_LIST_TYPES } from "./protocol.js";
import type { DealerResponse, ReshareDeal, ShareManifest } from "./protocol.js";

function distinctXs(n: number): number[] {
  const out = new Set<number>();
  while (out.size < n) for (const b of randomBytes(n)) if (b !== 0 && out.size < n) out.add(b);
  return [...out];
}

/**
 * Reshares one record from its manifest's epoch to the current set. `avoid` lists keyholders not
 * to use as dealers (the leaver) while enough others hold shares.
 */
export async function reshareRecord(p: {
  network: KeyholderNetwork;
  coordinator: AccountSigner;
  manifest: ShareManifest;
  avoid?: number[];
  lifetimeSeconds?: number;
}): Promise<ShareManifest> {
  const { network, manifest } = p;
  const chain = network.chain;
  const set = await chain.keyholderSet();
  const fromEpoch = manifest.current.epoch;
  if (fromEpoch === set.epoch.toString()) return manifest;
  const holders = manifest.current.shares.map((s) => s.keyholderId);
  const avoid = new Set(p.avoid ?? []);
  const k = manifest.current.threshold;
  const memberOf = async (id: number): Promise<KeyholderMember | undefined> =>
    set.members.find((m) => m.id === id) ?? (await chain.keyholder(id));
  const candidates = [...holders.filter((id) => !avoid.has(id)), ...holders.filter((id) => avoid.has(id))];
  const newIds = set.members.map((m) => m.id);
  const deal: ReshareDeal = {
    subject: manifest.origin.subject,
    recordId: manifest.origin.recordId,
    fromEpoch,
    toEpoch: set.epoch.toString(),
    newThreshold: set.threshold,
    quorumIds: [],
    newIds,
    newXs: distinctXs(newIds.length),
    expiry: Math.floor(Date.now() / 1000) + (p.lifetimeSeconds ?? 120),
  };
  const failures: { keyholderId: number; code: string; message: string }[] = [];
  // Try quorums in order of preference until k dealers answer.
  for (let start = 0; start + k <= candidates.length; start++) {
    const quorum = candidates.slice(start, start + k).sort((a, b) => a - b);
    const plan = { ...deal, quorumIds: quorum };
    const value = { ...plan, fromEpoch: BigInt(plan.fromEpoch), toEpoch: BigInt(plan.toEpoch) };
    const signed = {
      request: plan,
      signature: await p.coordinator.signTypedData(network.domain, RESHARE_DEAL_TYPES, value),
    };
    const dealt = await Promise.all(
      quorum.map(async (id) => {
        const m = await memberOf(id);
        if (m === undefined) return undefined;
        try {
          return await network.api(m).reshareDeal(signed);
        } catch (err) {
          failures.push({
            keyholderId: id,
            code: (err as { refusal?: string }).refusal ?? "UNREACHABLE",
            message: String((err as Error).message),
          });
          return undefined;
        }
      }),
    );
    if (dealt.some((d) => d === undefined)) continue;
    const dealers = dealt as DealerResponse[];
    const accepted = await Promise.all(
      set.members.map(async (m) => {
        try {
          return await network.api(m).reshareAccept({ deal: signed, manifest, dealers });
        } catch (err) {
          failures.push({
            keyholderId: m.id,
            code: (err as { refusal?: string }).refusal ?? "UNREACHABLE",
            message: String((err as Error).message),
          });
          return undefined;
        }
      }),
    );
    const attested = accepted.filter((a) => a !== undefined);
    if (attested.length < set.threshold) break;
    const next: ShareManifest = {
      ...manifest,
      current: {
        epoch: set.epoch.toString(),
        threshold: set.threshold,
        shares: attested.map((a) => ({
          keyholderId: a.keyholderId,
          x: a.x,
          commitment: a.commitment,
          attestation: a.attestation,
        })),
      },
    };
    // New holders activate; every old holder (the leaver included, if it still answers) deletes its old share.
    const everyone = new Map<number, KeyholderMember>();
    for (const id of [...holders, ...newIds]) {
      const m = await memberOf(id);
      if (m !== undefined) everyone.set(id, m);
    }
    await Promise.all(
      [...everyone.values()].map((m) =>
        network
          .api(m)
          .reshareFinalize({ manifest: next })
          .catch(() => undefined),
      ),
    );
    return next;
  }
  throw new KeyReleaseRefusedError("Resharing failed: no quorum of k old holders dealt", failures);
}

/** Reshares every record that `source` (an old holder) still holds below the current epoch. */
export async function reshareAll(p: {
  network: KeyholderNetwork;
  coordinator: AccountSigner;
  /** The keyholder to list work from (default: every active one, merged). */
  sources?: number[];
  avoid?: number[];
}): Promise<number> {
  const set = await p.network.chain.keyholderSet();
  const toEpoch = set.epoch.toString();
  const seen = new Set<string>();
  let moved = 0;
  const sources = set.members.filter((m) => p.sources === undefined || p.sources.includes(m.id));
  for (const source of sources) {
    for (;;) {
      const request = { toEpoch, limit: 100, expiry: Math.floor(Date.now() / 1000) + 120 };
      const signature = (await p.coordinator.signTypedData(p.network.domain, RESHARE_LIST_TYPES, {
        ...request,
        toEpoch: BigInt(toEpoch),
      })) as Hex;
      const { manifests } = await p.network.api(source).reshareList({ request, signature });
      const todo = manifests.filter((m) => !seen.has(`${m.origin.subject}:${m.origin.recordId}`));
      if (todo.length === 0) break;
      for (const manifest of todo) {
        seen.add(`${manifest.origin.subject}:${manifest.origin.recordId}`);
        await reshareRecord({
          network: p.network,
          coordinator: p.coordinator,
          manifest,
          ...(p.avoid ? { avoid: p.avoid } : {}),
        });
        moved++;
      }
    }
  }
  return moved;
}
