/**
 * The integrity report for a subject: every record version, how it is anchored (a single anchor,
 * or a member of a Merkle batch whose proof is re-verified against the batch root), its envelope
 * fetched from storage and its sha256 compared with the anchored digest, and its tombstone.
 * Optionally the anchor itself is re-read from the registry (`getRecord`) and its stored
 * commitment compared with keccak256(abi.encode(digest, labelCommitment)) from the events.
 *
 * A version passes when every check that applies to it passes; an erased version passes when its
 * anchor does (its envelope may be shredded). `ok` is false if any version fails: the CLI then
 * exits non-zero.
 *
 * Batch manifests are the JSON the SDK stores at a batch's pointer:
 * `{ root, subject?, records: [{ recordId, category, digest, labelCommitment, pointer, proof }] }`;
 * leaves are (bytes32 subject, bytes32 recordId, uint8 category, bytes32 digest, bytes32 labelCommitment).
 *
 * @example
 * ```ts
 * import { buildIntegrityReport } from "medledger/exports";
 * import { filesystem } from "medledger";
 * const report = await buildIntegrityReport({ source: audit, subject, blobs: filesystem({ dir: "blobs" }) });
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256, sha256 } from "ethers";

import type { AuditSource, RecordVersion } from "../indexer/queries.js";
import { parseId } from "../indexer/queries.js";
import type { BlobStore } from "../storage/types.js";

export type CheckStatus = "pass" | "fail" | "skipped";

export interface VersionCheck {
  recordId: string;
  category: string;
  anchor: RecordVersion["anchor"];
  anchoredAt: number;
  blockNumber: number;
  transactionHash: string;
  previous: string | null;
  supersededBy: string | null;
  erasedAt: number | null;
  digest: string;
  /** Batch members: the root and whether the manifest's proof places the leaf under it. */
  batch: { root: string; manifest: string; proof: CheckStatus; problem?: string } | null;
  /** The envelope's sha256 against the anchored digest. */
  envelope: { pointer: string; status: CheckStatus; problem?: string };
  /** The registry's stored commitment against the events' digest and label commitment. */
  anchorState: { status: CheckStatus; problem?: string };
  ok: boolean;
}

export interface IntegrityReport {
  subject: string;
  generatedAt: string;
  ok: boolean;
  summary: { versions: number; passed: number; failed: number; erased: number; batchMembers: number };
  versions: VersionCheck[];
}

/** The registry view used for the optional anchor check (a TypeChain RecordRegistry fits). */
export interface RecordRegistryView {
  getRecord(subject: string, recordId: string): Promise<readonly [string, ...unknown[]] | { commitment: string }>;
}

export interface IntegrityOptions {
  source: AuditSource;
  subject: string;
  /** Where envelopes and manifests are stored (without it, envelope checks are skipped and fail the report). */
  blobs?: BlobStore;
  /** Re-read each anchor from the chain. */
  registry?: RecordRegistryView;
  /** Called after each version (for progress bars). */
  onProgress?: (done: number, total: number) => void;
}

interface Manifest {
  root: string;
  records: {
    recordId: string;
    category: number;
    digest: string;
    labelCommitment: string;
    pointer: string;
    proof: string[];
  }[];
}

const LEAF = ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"];

function problemOf(err: unknown): string {
  return err instanceof Error ? ((err as { shortMessage?: string }).shortMessage ?? err.message) : String(err);
}

/**
 * Builds the integrity report of one subject.
 *
 * @example
 * ```ts
 * const report = await buildIntegrityReport({ source: new IndexSource(store), subject, blobs, registry });
 * ```
 */
export async function buildIntegrityReport(opts: IntegrityOptions): Promise<IntegrityReport> {
  const subject = parseId("subject", opts.subject);
  const versions = await opts.source.subjectRecords(subject);
  const manifests = new Map<string, Promise<Manifest>>();
  const manifest = (pointer: string): Promise<Manifest> => {
    let m = manifests.get(pointer);
    if (m === undefined) {
      if (opts.blobs === undefined) return Promise.reject(new Error("no blob store given"));
      m = opts.blobs.getBytes(pointer).then((b) => JSON.parse(new TextDecoder().decode(b)) as Manifest);
      manifests.set(pointer, m);
    }
    return m;
  };
  const checks: VersionCheck[] = [];
  for (const v of versions) {
    checks.push(await checkVersion(v, subject, opts, manifest));
    opts.onProgress?.(checks.length, versions.length);
  }
  const failed = checks.filter((c) => !c.ok).length;
  return {
    subject,
    generatedAt: new Date().toISOString(),
    ok: failed === 0,
    summary: {
      versions: checks.length,
      passed: checks.length - failed,
      failed,
      erased: checks.filter((c) => c.erasedAt !== null).length,
      batchMembers: checks.filter((c) => c.batch !== null).length,
    },
    versions: checks,
  };
}

async function checkVersion(
  v: RecordVersion,
  subject: string,
  opts: IntegrityOptions,
  manifest: (pointer: string) => Promise<Manifest>,
): Promise<VersionCheck> {
  const check: VersionCheck = {
    recordId: v.recordId,
    category: v.category,
    anchor: v.anchor,
    anchoredAt: v.anchoredAt,
    blockNumber: v.blockNumber,
    transactionHash: v.transactionHash,
    previous: v.previous,
    supersededBy: v.supersededBy,
    erasedAt: v.erasedAt,
    digest: v.digest,
    batch: null,
    envelope: { pointer: v.pointer, status: "skipped" },
    anchorState: { status: "skipped" },
    ok: true,
  };
  let envelopePointer = v.pointer;
  if (v.batch !== null) {
    check.batch = { root: v.batch.root, manifest: v.batch.pointer, proof: "fail" };
    try {
      const m = await manifest(v.batch.pointer);
      const member = m.records.find((r) => r.recordId.toLowerCase() === v.recordId);
      if (member === undefined) throw new Error("the manifest does not list this record");
      if (m.root.toLowerCase() !== v.batch.root) throw new Error("the manifest is for another root");
      const leaf = [subject, v.recordId, member.category, member.digest, member.labelCommitment];
      if (member.digest.toLowerCase() !== v.digest || member.labelCommitment.toLowerCase() !== v.labelCommitment) {
        throw new Error("the manifest's digest or label commitment differs from the proven one");
      }
      if (!StandardMerkleTree.verify(v.batch.root, LEAF, leaf, member.proof))
        throw new Error("the proof does not verify");
      check.batch.proof = "pass";
      envelopePointer = member.pointer;
      check.envelope.pointer = member.pointer;
    } catch (err) {
      check.batch.problem = problemOf(err);
    }
  }
  if (v.erasedAt === null && v.anchor !== "imported") {
    if (opts.blobs === undefined) {
      check.envelope = { pointer: envelopePointer, status: "fail", problem: "no blob store given" };
    } else if (check.batch?.proof === "fail") {
      check.envelope = { pointer: envelopePointer, status: "fail", problem: "no verified manifest entry" };
    } else {
      try {
        const digest = sha256(await opts.blobs.getBytes(envelopePointer));
        check.envelope.status = digest === v.digest ? "pass" : "fail";
        if (digest !== v.digest) check.envelope.problem = `the envelope hashes to ${digest}`;
      } catch (err) {
        check.envelope = { pointer: envelopePointer, status: "fail", problem: problemOf(err) };
      }
    }
  }
  if (opts.registry !== undefined) {
    try {
      const state = await opts.registry.getRecord(subject, v.recordId);
      const stored = Array.isArray(state) ? (state[0] as string) : (state as { commitment: string }).commitment;
      const expected = keccak256(
        AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [v.digest, v.labelCommitment]),
      );
      check.anchorState.status = stored.toLowerCase() === expected ? "pass" : "fail";
      if (check.anchorState.status === "fail") check.anchorState.problem = `the registry stores ${stored}`;
    } catch (err) {
      check.anchorState = { status: "fail", problem: problemOf(err) };
    }
  }
  check.ok =
    check.envelope.status !== "fail" &&
    check.anchorState.status !== "fail" &&
    (check.batch === null || check.batch.proof === "pass");
  return check;
}
