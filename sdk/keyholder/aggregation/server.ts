/**
 * An aggregation server: the research side of a keyholder (issue 9's keyholders double as issue
 * 12's aggregation servers). Transport-free like the keyholder core; `routes.ts` serves it over
 * the keyholder's Fastify app and `transport.ts` calls it in process or over HTTP.
 *
 * - **receiveShare**: a custodian's research data steward delivers one sealed share. Checked, in
 *   order: shape; addressed to this server; not expired; the slot matches its digest; the EIP-712
 *   signature; on chain (StudyRegistry.studyAccessTerms) the signer is an ACTIVE researcher of a
 *   custodian of the approved, active study and the run still takes contributions, and that
 *   custodian is the one named; this server is one of the run's servers; the share opens with this
 *   server's key in exactly its context (study, run, custodian, server, position, length), every
 *   element is < p, and it matches the commitment named. Anything else is refused with a typed
 *   code (`BAD_LENGTH`, `OUT_OF_RANGE`, `BAD_SLOT`, `BAD_COMMITMENT`, `NOT_CUSTODIAN`, …) and
 *   nothing is stored. Shares stay sealed to the server's key at rest.
 * - **aggregate** (anyone may trigger it; idempotent): once the run's contributor set is final
 *   (deadline passed, or every custodian contributed) and has at least the study's minimum, the
 *   server sums the shares whose commitments the chain recorded for exactly those contributors —
 *   a missing one is `MISSING_SHARE` naming the custodian, never a silent partial sum —, adds its
 *   own noise when the study has ε > 0 (the query document is then needed to calibrate it, and must
 *   match the registered digest), seals the sum-share to itself, stores it, and publishes its
 *   commitment on chain. A second call returns the stored sum-share (and publishes it if an earlier
 *   publication failed): noise is drawn once per run.
 * - **sumShare**: the study's researcher (still ACTIVE, EIP-712 signed request) receives the
 *   published sum-share sealed to its registered X25519 key. Nothing else ever leaves the server:
 *   no share, no per-custodian value.
 *
 * @example
 * ```ts
 * import { createAggregationServer, openAggregationStore, contractAggregationChain } from "medledger/keyholder";
 * const aggregation = createAggregationServer({ identity, chain: contractAggregationChain({ provider, addressBook, signer }), store: openAggregationStore(path), keyholderId: () => core.keyholderId });
 * const answer = await aggregation.aggregate({ studyId, runId });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { getBytes, hexlify, verifyTypedData } from "ethers";

import type { Identity } from "../../crypto/keystore.js";
import type { RandomSource } from "../../crypto/random.js";
import type { Hex } from "../../types.js";
import { noiseScales, noiseVector } from "../../research/dp.js";
import { QueryUnsupportedError, ShareRefusedError } from "../../research/errors.js";
import type { ShareRefusalCode } from "../../research/errors.js";
import { sumVectors } from "../../research/field.js";
import {
  AGGREGATION_SHARE_TYPES,
  SUM_SHARE_REQUEST_TYPES,
  aggregationDomain,
  parseAggregate,
  parseRunRef,
  parseShareDelivery,
  parseSumShareRequest,
} from "../../research/protocol.js";
import type { AggregateAnswer, RunStatus, ShareReceipt, SumShareAnswer } from "../../research/protocol.js";
import { parseQuery, queryDigest, queryLayout } from "../../research/query.js";
import {
  encodeShareContext,
  encodeSumShareContext,
  openVector,
  sealVector,
  slotKeyVersion,
} from "../../research/seal.js";
import { publicKeyOf } from "../x25519.js";
import type { AggregationChain, RunView, StudyView } from "./chain.js";
import type { AggregationStore } from "./store.js";

/** What an aggregation server answers; HTTP and in-process transports expose exactly this. */
export interface AggregationApi {
  receiveShare(body: unknown): Promise<ShareReceipt>;
  aggregate(body: unknown): Promise<AggregateAnswer>;
  sumShare(body: unknown): Promise<SumShareAnswer>;
  runStatus(body: unknown): Promise<RunStatus>;
}

export interface AggregationServerOptions {
  /** The keyholder's identity (its X25519 key is the one registered in KeyholderRegistry). */
  identity: Identity;
  /** Earlier X25519 private keys by version (shares sealed before a key rotation). */
  previousKeys?: { keyVersion: number; privateKey: Uint8Array }[];
  chain: AggregationChain;
  store: AggregationStore;
  /** This server's keyholder id (0 until the keyholder is registered). */
  keyholderId: () => number;
  /** Randomness for salts and noise (default: the platform CSPRNG). */
  random?: RandomSource;
  /** Clock in milliseconds (request expiry). */
  now?: () => number;
  /** The furthest ahead a request's expiry may be (seconds, default 300). */
  maxRequestLifetimeSeconds?: number;
}

const refuse = (code: ShareRefusalCode, message: string, details?: string): never => {
  throw new ShareRefusedError(code, message, details === undefined ? {} : { details });
};

/** Maps a StudyRegistry refusal to a refusal code. */
function studyRefusal(name: string): ShareRefusalCode {
  if (name === "StudyUnknown" || name === "StudyUnknownRun") return "UNKNOWN_STUDY";
  if (name === "StudyNotCustodian") return "NOT_CUSTODIAN";
  return "STUDY_INACTIVE";
}

export function createAggregationServer(opts: AggregationServerOptions): AggregationApi {
  const { chain, store, identity } = opts;
  const now = opts.now ?? Date.now;
  const lifetime = opts.maxRequestLifetimeSeconds ?? 300;
  const domain = aggregationDomain(chain.chainId, chain.studyRegistry);
  const keys = new Map<number, Uint8Array>([[identity.keyVersion, identity.x25519.privateKey]]);
  for (const k of opts.previousKeys ?? []) keys.set(k.keyVersion, k.privateKey);
  const locks = new Map<string, Promise<AggregateAnswer>>();

  const me = (): number => {
    const id = opts.keyholderId();
    if (id === 0) refuse("NOT_READY", "This server is not a registered keyholder yet");
    return id;
  };

  async function onChain<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof ShareRefusedError) throw err;
      return refuse(
        "CHAIN_UNAVAILABLE",
        `Reading the chain failed (${what})`,
        String((err as Error).message).slice(0, 200),
      );
    }
  }

  function checkExpiry(expiry: number): void {
    const t = Math.floor(now() / 1000);
    if (expiry < t || expiry > t + lifetime) refuse("EXPIRED", "The request's expiry is past or too far ahead");
  }

  function recover(types: typeof AGGREGATION_SHARE_TYPES, message: Record<string, unknown>, signature: Hex): string {
    try {
      return verifyTypedData(domain, types, message, signature);
    } catch {
      return refuse("BAD_SIGNATURE", "The signature does not verify");
    }
  }

  function privateKey(slot: Uint8Array): Uint8Array {
    const version = slotKeyVersion(slot);
    const key = keys.get(version);
    if (key === undefined)
      refuse("BAD_SLOT", "The share is sealed to a key version this server does not hold", `version ${version}`);
    return key!;
  }

  async function studyOf(studyId: Hex): Promise<StudyView> {
    const s = await onChain("study", () => chain.study(studyId));
    if (s === undefined) refuse("UNKNOWN_STUDY", "No such study");
    return s!;
  }

  async function runOf(studyId: Hex, runId: number): Promise<RunView> {
    const r = await onChain("run", () => chain.run(studyId, runId));
    if (r === undefined) refuse("UNKNOWN_STUDY", "No such run");
    return r!;
  }

  function indexIn(run: RunView, id: number): number {
    const index = run.servers.indexOf(id);
    if (index < 0)
      refuse("NOT_SERVER", "This server is not an aggregation server of the run", `servers ${run.servers.join(", ")}`);
    return index;
  }

  const shareContext = (studyId: Hex, runId: number, custodianOrg: number, id: number, index: number, cells: number) =>
    encodeShareContext({
      chainId: chain.chainId,
      studyRegistry: chain.studyRegistry,
      studyId,
      runId,
      custodianOrg,
      keyholderId: id,
      index,
      cells,
    });

  const sumContext = (studyId: Hex, runId: number, id: number, study: StudyView, digest: Hex) =>
    encodeSumShareContext({
      chainId: chain.chainId,
      studyRegistry: chain.studyRegistry,
      studyId,
      runId,
      keyholderId: id,
      cells: study.cells,
      researcher: study.researcher,
      contributorsDigest: digest,
    });

  async function publish(
    studyId: Hex,
    runId: number,
    id: number,
    commitment: Hex,
    digest: Hex,
  ): Promise<Hex | undefined> {
    const published = await onChain("sumShare", () => chain.sumShare(studyId, runId, id));
    if (published !== undefined) {
      if (published !== commitment) refuse("INTERNAL", "A different sum-share of this server is on chain");
      return undefined;
    }
    try {
      const txHash = await chain.publishSumShare(studyId, runId, id, commitment, digest);
      store.setPublished(studyId, runId, txHash);
      return txHash;
    } catch (err) {
      return refuse(
        "PUBLISH_FAILED",
        "Publishing the sum-share failed; retry",
        String((err as Error).message).slice(0, 200),
      );
    }
  }

  async function computeAggregate(studyId: Hex, runId: number, queryDoc: unknown): Promise<AggregateAnswer> {
    const id = me();
    const stored = store.sum(studyId, runId);
    if (stored !== undefined) {
      const txHash = await publish(studyId, runId, id, stored.commitment, stored.contributorsDigest);
      return {
        keyholderId: id,
        commitment: stored.commitment,
        contributorsDigest: stored.contributorsDigest,
        contributors: stored.contributors,
        ...(txHash === undefined ? {} : { txHash }),
      };
    }
    const study = await studyOf(studyId);
    if (study.closed) refuse("STUDY_INACTIVE", "The study is closed");
    const run = await runOf(studyId, runId);
    const index = indexIn(run, id);
    const t = await onChain("now", () => chain.now());
    if (t < run.deadline && run.contributors.length < study.custodians.length) {
      refuse(
        "RUN_OPEN",
        "The run still takes contributions",
        `deadline ${run.deadline}, ${run.contributors.length} of ${study.custodians.length} custodians contributed`,
      );
    }
    if (run.contributors.length < study.minCustodians) {
      refuse(
        "TOO_FEW_CONTRIBUTORS",
        "Too few custodians contributed for any release",
        `${run.contributors.length} of at least ${study.minCustodians}`,
      );
    }
    // Noise needs the query (its components calibrate ε): it must be the registered one.
    let scales: ReturnType<typeof noiseScales> | undefined;
    if (study.epsilonMilli > 0) {
      if (queryDoc === undefined)
        refuse("BAD_REQUEST", "This study adds noise: the aggregate request must carry its query");
      let query;
      try {
        query = parseQuery(queryDoc);
      } catch (err) {
        if (err instanceof QueryUnsupportedError)
          refuse("BAD_REQUEST", "The query is not in the language", err.details);
        throw err;
      }
      if (queryDigest(query) !== study.queryDigest.toLowerCase() || queryLayout(query).cells !== study.cells) {
        refuse("BAD_REQUEST", "The query is not the study's registered query");
      }
      scales = noiseScales(query, study.epsilonMilli);
    }
    const vectors: bigint[][] = [];
    for (const org of run.contributors) {
      const committed = await onChain("commitments", () => chain.commitments(studyId, runId, org));
      const mine = committed?.[index];
      const share = mine === undefined ? undefined : store.share(studyId, runId, org, mine);
      if (share === undefined) {
        refuse("MISSING_SHARE", `This server does not hold custodian ${org}'s committed share`, `custodian ${org}`);
      }
      const opened = openVector({
        slot: share!.slot,
        recipientPrivateKey: privateKey(share!.slot),
        context: shareContext(studyId, runId, org, id, index, study.cells),
        label: "share",
        cells: study.cells,
      });
      if (opened.commitment !== mine)
        refuse("BAD_COMMITMENT", "A stored share does not match its commitment", `custodian ${org}`);
      vectors.push(opened.vector);
    }
    let sum = sumVectors(vectors, study.cells);
    if (scales !== undefined) sum = sumVectors([sum, noiseVector(scales, opts.random)], study.cells);
    const digest = await onChain("contributorsDigest", () => chain.contributorsDigest(studyId, runId));
    const context = sumContext(studyId, runId, id, study, digest);
    const sealed = sealVector({
      vector: sum,
      recipientPublicKey: publicKeyOf(identity.x25519.privateKey),
      recipientKeyVersion: identity.keyVersion,
      context,
      label: "rest",
      ...(opts.random === undefined ? {} : { random: opts.random }),
    });
    store.putSum({
      studyId,
      runId,
      commitment: sealed.commitment,
      contributorsDigest: digest,
      contributors: [...run.contributors],
      slot: sealed.slot,
      txHash: undefined,
      createdAt: Math.floor(now() / 1000),
    });
    const txHash = await publish(studyId, runId, id, sealed.commitment, digest);
    return {
      keyholderId: id,
      commitment: sealed.commitment,
      contributorsDigest: digest,
      contributors: [...run.contributors],
      ...(txHash === undefined ? {} : { txHash }),
    };
  }

  return {
    async receiveShare(body) {
      const { delivery: d, signature, slot: slotHex } = parseShareDelivery(body);
      const id = me();
      if (d.keyholderId !== id) refuse("NOT_SERVER", "The share is addressed to another server");
      checkExpiry(d.expiry);
      const slot = getBytes(slotHex);
      if (hexlify(sha256(slot)) !== d.slotDigest) refuse("BAD_SLOT", "The slot does not match its signed digest");
      const signer = recover(AGGREGATION_SHARE_TYPES, { ...d }, signature);
      const custodian = await onChain("studyAccessTerms", () => chain.custodianOf(d.studyId, d.runId, signer));
      if ("refused" in custodian)
        refuse(studyRefusal(custodian.refused), "The study does not take this contribution", custodian.refused);
      if ((custodian as { orgId: number }).orgId !== d.custodianOrg) {
        refuse("NOT_CUSTODIAN", "The signer does not belong to the custodian named");
      }
      const [study, run] = await Promise.all([studyOf(d.studyId), runOf(d.studyId, d.runId)]);
      const index = indexIn(run, id);
      const opened = openVector({
        slot,
        recipientPrivateKey: privateKey(slot),
        context: shareContext(d.studyId, d.runId, d.custodianOrg, id, index, study.cells),
        label: "share",
        cells: study.cells,
      });
      if (opened.commitment !== d.commitment) refuse("BAD_COMMITMENT", "The share does not match the commitment named");
      store.putShare({
        studyId: d.studyId,
        runId: d.runId,
        custodianOrg: d.custodianOrg,
        commitment: d.commitment,
        slot,
        receivedAt: Math.floor(now() / 1000),
      });
      return { keyholderId: id, commitment: d.commitment };
    },

    aggregate(body) {
      const b = parseAggregate(body);
      const key = `${b.studyId}/${b.runId}`;
      let running = locks.get(key);
      if (running === undefined) {
        running = computeAggregate(b.studyId, b.runId, b.query).finally(() => locks.delete(key));
        locks.set(key, running);
      }
      return running;
    },

    async sumShare(body) {
      const { request: r, signature } = parseSumShareRequest(body);
      const id = me();
      if (r.keyholderId !== id) refuse("NOT_SERVER", "The request is addressed to another server");
      checkExpiry(r.expiry);
      const signer = recover(SUM_SHARE_REQUEST_TYPES, { ...r }, signature);
      if (signer.toLowerCase() !== r.researcher.toLowerCase())
        refuse("BAD_SIGNATURE", "The request is not signed by the researcher named");
      const study = await studyOf(r.studyId);
      if (study.researcher.toLowerCase() !== signer.toLowerCase())
        refuse("NOT_RESEARCHER", "Only the study's researcher receives sum-shares");
      if (!(await onChain("accessorStatus", () => chain.isActive(signer))))
        refuse("NOT_RESEARCHER", "The researcher is not active");
      const stored = store.sum(r.studyId, r.runId);
      const published =
        stored === undefined ? undefined : await onChain("sumShare", () => chain.sumShare(r.studyId, r.runId, id));
      if (stored === undefined || published !== stored.commitment)
        refuse("NOT_PUBLISHED", "This server has not published its sum-share yet");
      const key = await onChain("practitionerKey", () => chain.practitionerKey(signer));
      if (key === undefined || /^0x0+$/.test(key.key))
        refuse("NO_RESEARCHER_KEY", "The researcher has no registered X25519 key");
      const context = sumContext(r.studyId, r.runId, id, study, stored!.contributorsDigest);
      const own = openVector({
        slot: stored!.slot,
        recipientPrivateKey: privateKey(stored!.slot),
        context,
        label: "rest",
        cells: study.cells,
      });
      const sealed = sealVector({
        vector: own.vector,
        salt: own.salt,
        recipientPublicKey: getBytes(key!.key),
        recipientKeyVersion: key!.version,
        context,
        label: "sum",
      });
      return {
        keyholderId: id,
        slot: hexlify(sealed.slot) as Hex,
        commitment: sealed.commitment,
        contributorsDigest: stored!.contributorsDigest,
      };
    },

    async runStatus(body) {
      const { studyId, runId } = parseRunRef(body);
      const id = me();
      const stored = store.sum(studyId, runId);
      const published =
        stored === undefined ? undefined : await onChain("sumShare", () => chain.sumShare(studyId, runId, id));
      return {
        keyholderId: id,
        shares: store.custodiansWithShares(studyId, runId),
        sum:
          stored === undefined ? null : { commitment: stored.commitment, published: published === stored.commitment },
      };
    },
  };
}
