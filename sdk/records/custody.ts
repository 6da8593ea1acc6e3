/**
 * The ONE seam between the record and consent actions and whatever keeps records' data keys.
 * `records.put` deposits the data key before anchoring, `records.get` preflights before logging
 * the access and asks for the key after it, `records.erase` destroys the key after the tombstone,
 * `records.rekey` retires the old version's key after anchoring its successor, and
 * `consent.grant` hands the consent's sealed-terms opening to the keyholders. Nothing else in
 * `records/` or `consent/` knows how keys are kept.
 *
 * Two implementations:
 * - the keyholder network (`KeyholderNetwork`, sdk/keyholder/client.ts): k-of-n Shamir shares over
 *   the keyholders governance admitted in KeyholderRegistry, the sealed rule at the record's
 *   custodian keyholder. {@link networkCustody} adapts its `KeyCustody` to this seam; the context
 *   applies it to `custody: network` or `keyholders: "network"`;
 * - the in-process keyholder per custodian organization (`slotCustody`, ./slot-custody.ts), the
 *   embedded default for tests: key slots wrapped to the subject's and the custodian's registered
 *   keys, no sealed rule.
 *
 * The custodian organization travels with every call: `records.put` takes it from the contract's
 * own append decision (ConsentRegistry.check: the writer's organization when a practitioner
 * anchors, 0 when the subject or an ACCESS guardian does), read in parallel with the anchor's gas
 * estimate; `records.get`, `erase` and `rekey` take it from the anchor they read anyway.
 *
 * @example
 * ```ts
 * import { MedLedger } from "medledger";
 * // The keyholders registered in KeyholderRegistry, over HTTP to their registered endpoints:
 * const ml = await MedLedger.create({ signer, encryptionKey, addressBook, storage, keyholders: "network" });
 * ```
 */
import type { AccountSigner, KeyCustody, KeyholderFailure, PreflightAnswer, ReaderKeys } from "../keyholder/client.js";
import { KeyReleaseRefusedError } from "../keyholder/client.js";

export type { AccountSigner, PreflightAnswer, ReaderKeys };

/** A KeyCustody method whose parameters also carry the anchor's custodian organization (0: the subject). */
type WithCustodian<M extends (p: never) => unknown> = (p: Parameters<M>[0] & { custodian: number }) => ReturnType<M>;

/**
 * What the actions need from whatever keeps the data keys (see the module comment): the keyholder
 * network's `KeyCustody` calls, each with the anchor's custodian organization. Every method throws
 * a MedLedgerError (a refusal names its reason) and changes nothing on chain.
 * - `deposit`: keeps the data key (and hands the label opening to the custodian's keyholder);
 *   called BEFORE the anchor is sent (a retry may call it again);
 * - `preflight`: would the read be released? Called BEFORE the access is logged, so a read that
 *   cannot complete leaves no trace on chain; its `consentHint` names the permit the sealed rule
 *   passed under (the access is logged under it);
 * - `release`: the data key, after the access logged in `accessTx`;
 * - `erase`: after the tombstone is on chain, the record's key material is destroyed;
 * - `retire`: after a re-key anchored the successor, the old version's key material is destroyed;
 * - `depositTermsOpening`: after a grant is mined, its sealed-terms opening goes to the
 *   keyholders. Absent when the custody enforces no sealed rule (the in-process slot custody).
 */
export interface RecordCustody {
  /** "network": the k-of-n keyholder network; "slots": the in-process keyholders (tests). */
  readonly kind: "network" | "slots";
  deposit(p: Parameters<KeyCustody["deposit"]>[0]): Promise<void>;
  preflight: WithCustodian<KeyCustody["preflight"]>;
  release: WithCustodian<KeyCustody["release"]>;
  erase: WithCustodian<KeyCustody["erase"]>;
  retire: WithCustodian<KeyCustody["retire"]>;
  depositTermsOpening?: KeyCustody["depositTermsOpening"];
}

/** The reader's private key for a registered key version; undefined when it has none. */
export function readerKey(keys: ReaderKeys, version: number): Uint8Array | undefined {
  return typeof keys === "function" ? keys(version) : keys.get(version);
}

/**
 * Keyholder refusals that only mean "my node has not seen the block yet": erase and retire ask
 * each keyholder to check the tombstone (or the successor) on its own node, which may lag a block
 * behind the writer's.
 */
const NOT_YET = new Set(["NOT_ERASED", "NOT_SUPERSEDED"]);
const SETTLE_ATTEMPTS = 20;
const SETTLE_DELAY_MS = 150;

/** Runs `call` until no keyholder answers "not yet" (bounded), then returns or rethrows. */
async function settled(call: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const failures: KeyholderFailure[] = err instanceof KeyReleaseRefusedError ? err.failures : [];
      const lagging = failures.length > 0 && failures.every((f) => NOT_YET.has(f.code));
      if (!lagging || attempt >= SETTLE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, SETTLE_DELAY_MS));
    }
  }
}

/** A custody that is a KeyCustody (duck-typed: `KeyholderNetwork` or a test double of it). */
export function isKeyCustody(value: unknown): value is KeyCustody {
  const c = value as Partial<Record<keyof KeyCustody, unknown>> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    (
      ["deposit", "depositTermsOpening", "depositLabelOpening", "preflight", "release", "erase", "retire"] as const
    ).every((m) => typeof c[m] === "function")
  );
}

/**
 * The keyholder network as the actions' {@link RecordCustody}. The anchor's custodian reaches
 * `deposit` (the network seals the label opening to that organization's custodian keyholder); the
 * other calls find the custodian keyholder from the chain themselves. `erase` and `retire` wait
 * (briefly, bounded) for a keyholder whose node has not yet seen the tombstone or the successor.
 */
export function networkCustody(network: KeyCustody): RecordCustody {
  return {
    kind: "network",
    deposit: (p) => network.deposit(p),
    // The network finds the custodian keyholder from the chain itself (the extra field is ignored).
    preflight: (p) => network.preflight(p),
    release: (p) => network.release(p),
    erase: (p) => settled(() => network.erase(p)),
    retire: (p) => settled(() => network.retire(p)),
    depositTermsOpening: (p) => network.depositTermsOpening(p),
  };
}

/**
 * A KeyCustody that builds its keyholder network on first use: participants can be created
 * before governance has registered the keyholders, and a command that never touches a record never
 * reads the keyholder set. A failed creation is retried on the next call.
 */
export function lazyCustody(create: () => Promise<KeyCustody>): KeyCustody {
  let network: Promise<KeyCustody> | undefined;
  const get = () =>
    (network ??= create().catch((err: unknown) => {
      network = undefined; // the next call tries again
      throw err;
    }));
  return {
    deposit: async (p) => (await get()).deposit(p),
    depositTermsOpening: async (p) => (await get()).depositTermsOpening(p),
    depositLabelOpening: async (p) => (await get()).depositLabelOpening(p),
    preflight: async (p) => (await get()).preflight(p),
    release: async (p) => (await get()).release(p),
    erase: async (p) => (await get()).erase(p),
    retire: async (p) => (await get()).retire(p),
  };
}
