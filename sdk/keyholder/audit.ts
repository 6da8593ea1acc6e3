/**
 * The completeness audit of the keyholder network, for an auditor with keys (an active AUDITOR of a
 * REGULATOR organization, or of a keyholder's own organization for that keyholder alone).
 *
 * {@link collectAudit} fetches from every active keyholder its keyed release log and its stored
 * openings, each export carrying the keyholder's audit key sealed to the auditor's registered
 * X25519 key, and from the chain every record and consent commitment and every log anchor.
 * {@link auditCollected} then checks, from that material alone plus the auditor's own node:
 *
 * - each log's keyed chain against its on-chain anchors (a deleted or altered entry);
 * - every release points to an access event naming that reader and record;
 * - every release carries a policy token signed by the registered account of the record's
 *   custodian keyholder (custodian rule at the release's block), matching the release, unexpired;
 * - every record commitment (not erased, not superseded) has a matching label opening at its
 *   custodian keyholder, and every consent commitment a matching sealed-terms opening at every
 *   active keyholder;
 * - no keyholder went silent: consecutive anchors, and the last anchor to `now`, at most twice the
 *   anchoring cadence apart.
 *
 * With the openings, the auditor can re-derive every sealed decision (policy.ts).
 *
 * @example
 * ```ts
 * import { auditCollected, collectAudit } from "medledger/keyholder";
 * const collected = await collectAudit({ network, auditor, auditorKeys });
 * const report = await auditCollected({ chain, collected, anchorIntervalSeconds: 3600 });
 * ```
 */
import { getBytes } from "ethers";

import type { Hex } from "../types.js";
import type { LabelOpening, SealedTermsOpening } from "../sealed/commitments.js";
import {
  OpeningKind,
  decodeLabelPayload,
  decodeTermsPayload,
  labelOpeningMatches,
  openPayload,
  openingSlotHeader,
  secretBinding,
  termsOpeningMatches,
} from "../sealed/openings.js";
import type { ChainView, ConsentCommitment, KeyholderSet, RecordCommitment } from "./chainView.js";
import type { AccountSigner, KeyholderNetwork, ReaderKeys } from "./client.js";
import { auditReleaseLog } from "./log.js";
import type { AuditReport } from "./log.js";
import { custodianKeyholderId } from "./policy.js";
import { LOG_QUERY_TYPES, OPENINGS_QUERY_TYPES, keyholderDomain } from "./protocol.js";
import type { AuditKeyGrant, ExportedOpening } from "./protocol.js";
import type { LogRow } from "./store/sqlite.js";
import { deriveAuditKeys, openVault } from "./vault.js";

/** One keyholder's export, opened with its audit key. */
export interface KeyholderExport {
  keyholderId: number;
  auditKey: Uint8Array;
  rows: LogRow[];
  /** Every stored opening, decrypted; `opening` undefined for one that does not open. */
  openings: (ExportedOpening & { opening: LabelOpening | SealedTermsOpening | undefined })[];
}

export interface CollectedAudit {
  set: KeyholderSet;
  exports: Map<number, KeyholderExport>;
  anchors: Map<number, { seq: number; head: Hex; at: number }[]>;
  records: RecordCommitment[];
  consents: ConsentCommitment[];
}

export interface OpeningsAudit {
  /** Record commitments whose custodian keyholder holds no matching label opening. */
  missingLabelOpenings: { subject: Hex; recordId: Hex; keyholderId: number | undefined }[];
  /** Consent commitments some active keyholder holds no matching sealed-terms opening for. */
  missingTermsOpenings: { subject: Hex; consentId: Hex; keyholderId: number }[];
}

export interface NetworkAuditReport {
  ok: boolean;
  logs: Map<number, AuditReport>;
  openings: OpeningsAudit;
  /** Active keyholders the auditor got no export from. */
  unreachable: number[];
}

const PAGE = 10_000;

function openGrant(grant: AuditKeyGrant, auditor: string, keys: ReaderKeys, chain: ChainView): Uint8Array {
  const slot = getBytes(grant.slot);
  const { keyVersion } = openingSlotHeader(slot);
  const privateKey = typeof keys === "function" ? keys(keyVersion) : keys.get(keyVersion);
  if (privateKey === undefined) throw new Error(`No auditor key of version ${keyVersion}`);
  return openPayload({
    slot,
    kind: OpeningKind.SECRET,
    recipientPrivateKey: privateKey,
    binding: secretBinding({
      chainId: chain.chainId,
      keyholderRegistry: chain.keyholderRegistry,
      account: auditor,
      recipient: 0,
    }),
  });
}

/** Decrypts exported openings with a keyholder's audit key. */
export function openExportedOpenings(auditKey: Uint8Array, openings: readonly ExportedOpening[]) {
  const { vaultKey } = deriveAuditKeys(auditKey);
  return openings.map((o) => {
    let opening: LabelOpening | SealedTermsOpening | undefined;
    try {
      const payload = openVault(vaultKey, o.kind, o.subject, o.id, o.sealed);
      opening =
        o.kind === OpeningKind.LABELS
          ? decodeLabelPayload(payload, o.subject, o.id)
          : decodeTermsPayload(payload, o.subject);
    } catch {
      opening = undefined;
    }
    return { ...o, opening };
  });
}

/** Fetches every active keyholder's log and openings (auditor-signed exports) and the chain's commitments and anchors. */
export async function collectAudit(p: {
  network: KeyholderNetwork;
  auditor: AccountSigner;
  auditorKeys: ReaderKeys;
}): Promise<CollectedAudit> {
  const { chain } = p.network;
  const auditor = await p.auditor.getAddress();
  const set = await chain.keyholderSet();
  const expiry = () => Math.floor(Date.now() / 1000) + 60;
  const exports = new Map<number, KeyholderExport>();
  const anchors = new Map<number, { seq: number; head: Hex; at: number }[]>();
  await Promise.all(
    set.members.map(async (m) => {
      anchors.set(m.id, await chain.releaseLogAnchors(m.id));
      const api = p.network.api(m);
      try {
        const rows: LogRow[] = [];
        let grant: AuditKeyGrant | undefined;
        for (let from = 0; ;) {
          const request = { keyholderId: m.id, fromSeq: from, limit: PAGE, expiry: expiry() };
          const signature = await p.auditor.signTypedData(p.network.domain, LOG_QUERY_TYPES, request);
          const page = await api.logEntries({ request, signature });
          grant = page.auditKey;
          rows.push(...page.entries);
          if (page.entries.length < PAGE) break;
          from = page.entries.at(-1)!.seq + 1;
        }
        const exported: ExportedOpening[] = [];
        for (let from = 0; ;) {
          const request = { keyholderId: m.id, fromRow: from, limit: PAGE, expiry: expiry() };
          const signature = await p.auditor.signTypedData(p.network.domain, OPENINGS_QUERY_TYPES, request);
          const page = await api.openingsExport({ request, signature });
          exported.push(...page.openings);
          if (page.openings.length < PAGE) break;
          from = page.openings.at(-1)!.row + 1;
        }
        const auditKey = openGrant(grant, auditor, p.auditorKeys, chain);
        exports.set(m.id, { keyholderId: m.id, auditKey, rows, openings: openExportedOpenings(auditKey, exported) });
      } catch {
        // reported as unreachable
      }
    }),
  );
  const [records, consents] = await Promise.all([chain.recordCommitments(), chain.consentCommitments()]);
  return { set, exports, anchors, records, consents };
}

/** Every check of the module doc over collected material (which a test may mutate first). */
export async function auditCollected(p: {
  chain: ChainView;
  collected: CollectedAudit;
  anchorIntervalSeconds: number;
  /** Unix seconds; default the latest block's time. */
  now?: number;
}): Promise<NetworkAuditReport> {
  const { chain, collected } = p;
  const latest = await chain.latest();
  const now = p.now ?? latest.timestamp;
  const domain = keyholderDomain(chain.chainId, chain.keyholderRegistry);
  const logs = new Map<number, AuditReport>();
  const unreachable: number[] = [];
  for (const m of collected.set.members) {
    const e = collected.exports.get(m.id);
    if (e === undefined) {
      unreachable.push(m.id);
      continue;
    }
    logs.set(
      m.id,
      await auditReleaseLog({
        auditKey: e.auditKey,
        chainId: chain.chainId,
        keyholderRegistry: chain.keyholderRegistry,
        keyholderId: m.id,
        rows: e.rows,
        anchors: collected.anchors.get(m.id) ?? [],
        anchorIntervalSeconds: p.anchorIntervalSeconds,
        now,
        hasAccess: async (entry) => {
          const receipt = entry.accessTx === undefined ? null : await chain.accessReceipt(entry.accessTx as Hex);
          return (
            receipt?.status === 1 &&
            receipt.accesses.some(
              (a) =>
                a.subject === entry.subject?.toLowerCase() &&
                a.recordId === entry.recordId?.toLowerCase() &&
                a.accessor.toLowerCase() === entry.reader?.toLowerCase(),
            )
          );
        },
        tokens: {
          domain,
          custodianOf: async (entry) => {
            const block = entry.block ?? latest.number;
            const state = await chain.record(entry.subject as Hex, entry.recordId as Hex, block);
            if (state === undefined) return undefined;
            return custodianKeyholderId((await chain.keyholderSet(block)).members, state.custodian);
          },
          accountOf: async (id) => (await chain.keyholder(id))?.account,
        },
      }),
    );
  }
  const openings = await auditOpenings(chain, collected, latest.number);
  const ok =
    unreachable.length === 0 &&
    [...logs.values()].every((r) => r.ok) &&
    openings.missingLabelOpenings.length === 0 &&
    openings.missingTermsOpenings.length === 0;
  return { ok, logs, openings, unreachable };
}

async function auditOpenings(chain: ChainView, collected: CollectedAudit, block: number): Promise<OpeningsAudit> {
  const found = (keyholderId: number | undefined, kind: number, subject: Hex, id: Hex) =>
    keyholderId === undefined
      ? undefined
      : collected.exports
          .get(keyholderId)
          ?.openings.find((o) => o.kind === kind && o.subject === subject && o.id === id)?.opening;
  const missingLabelOpenings: OpeningsAudit["missingLabelOpenings"] = [];
  for (const r of collected.records) {
    const state = await chain.record(r.subject, r.recordId, block);
    if (state === undefined || state.erasedAt !== 0 || state.superseded) continue;
    const keyholderId = custodianKeyholderId(collected.set.members, state.custodian);
    const o = found(keyholderId, OpeningKind.LABELS, r.subject, r.recordId) as LabelOpening | undefined;
    if (o === undefined || !labelOpeningMatches(o, r.subject, r.recordId, r.labelCommitment)) {
      missingLabelOpenings.push({ subject: r.subject, recordId: r.recordId, keyholderId });
    }
  }
  const missingTermsOpenings: OpeningsAudit["missingTermsOpenings"] = [];
  for (const c of collected.consents) {
    for (const m of collected.set.members) {
      const o = found(m.id, OpeningKind.TERMS, c.subject, c.consentId) as SealedTermsOpening | undefined;
      if (o === undefined || !termsOpeningMatches(o, c.subject, c.sealedTerms)) {
        missingTermsOpenings.push({ subject: c.subject, consentId: c.consentId, keyholderId: m.id });
      }
    }
  }
  return { missingLabelOpenings, missingTermsOpenings };
}
