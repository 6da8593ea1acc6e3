/**
 * What an aggregation server reads from (and writes to) the chain, through its own RPC node. The
 * server's logic (`server.ts`) depends on this interface only; `contractAggregationChain`
 * implements it with the TypeChain bindings.
 *
 * @example
 * ```ts
 * import { contractAggregationChain } from "medledger/keyholder";
 * const chain = contractAggregationChain({ provider, addressBook, signer: keyholderWallet });
 * ```
 */
import type { Provider, Signer } from "ethers";

import { IParticipantDirectory__factory, IStudyRegistry__factory } from "../../../types/typechain/index.js";
import type { AddressBook } from "../../chain/addressBook.js";
import { ContractRevertError, decodeContractError } from "../../chain/errors.js";
import type { Hex } from "../../types.js";

/** A study as the server needs it. */
export interface StudyView {
  researcher: string;
  researchOrg: number;
  cells: number;
  minCustodians: number;
  epsilonMilli: number;
  queryDigest: Hex;
  approved: boolean;
  closed: boolean;
  custodians: number[];
}

/** A run as the server needs it. */
export interface RunView {
  deadline: number;
  servers: number[];
  /** Custodian organizations that contributed, in order. */
  contributors: number[];
}

export interface AggregationChain {
  readonly chainId: bigint;
  readonly studyRegistry: string;
  /** The latest block's time. */
  now(): Promise<number>;
  study(studyId: Hex): Promise<StudyView | undefined>;
  run(studyId: Hex, runId: number): Promise<RunView | undefined>;
  /** A contribution's commitments (one per server, in the run's order), from its event. */
  commitments(studyId: Hex, runId: number, custodianOrg: number): Promise<Hex[] | undefined>;
  /**
   * The organization `account` reads and contributes for, if the study accepts it for the run
   * (StudyRegistry.studyAccessTerms); otherwise the contract error's name.
   */
  custodianOf(studyId: Hex, runId: number, account: string): Promise<{ orgId: number } | { refused: string }>;
  /** Whether `account` is an ACTIVE practitioner. */
  isActive(account: string): Promise<boolean>;
  practitionerKey(account: string): Promise<{ key: Hex; version: number } | undefined>;
  /** A published sum-share commitment (undefined: none yet). */
  sumShare(studyId: Hex, runId: number, keyholderId: number): Promise<Hex | undefined>;
  contributorsDigest(studyId: Hex, runId: number): Promise<Hex>;
  /** Publishes this server's sum-share commitment; resolves with the mined transaction's hash. */
  publishSumShare(studyId: Hex, runId: number, keyholderId: number, commitment: Hex, digest: Hex): Promise<Hex>;
}

const ZERO32 = `0x${"00".repeat(32)}`;

/** The contract error's name when `err` is a revert (else rethrows: an RPC outage is no answer). */
function revertName(err: unknown): string {
  const decoded = decodeContractError(err);
  if (decoded instanceof ContractRevertError && decoded.errorName !== "unknown") return decoded.errorName;
  throw err;
}

/** The TypeChain implementation of {@link AggregationChain}. */
export function contractAggregationChain(p: {
  provider: Provider;
  addressBook: AddressBook;
  /** The keyholder's signing account (only `publishSumShare` needs it). */
  signer?: Signer;
}): AggregationChain {
  const book = p.addressBook;
  const entry = book.contracts.StudyRegistry;
  if (entry === undefined) throw new Error("This deployment has no StudyRegistry");
  const studies = IStudyRegistry__factory.connect(entry.address, p.provider);
  const directory = IParticipantDirectory__factory.connect(book.contracts.ParticipantDirectory.address, p.provider);
  const fromBlock = entry.blockNumber;
  return {
    chainId: BigInt(book.chainId),
    studyRegistry: entry.address,
    async now() {
      const block = await p.provider.getBlock("latest");
      return block!.timestamp;
    },
    async study(studyId) {
      let s;
      try {
        s = await studies.getStudy(studyId);
      } catch (err) {
        if (revertName(err) === "StudyUnknown") return undefined;
        throw err;
      }
      return {
        researcher: s.researcher,
        researchOrg: Number(s.researchOrg),
        cells: Number(s.cells),
        minCustodians: Number(s.minCustodians),
        epsilonMilli: Number(s.epsilonMilli),
        queryDigest: s.queryDigest as Hex,
        approved: s.approvedAt !== 0n,
        closed: s.closedAt !== 0n,
        custodians: (await studies.studyCustodians(studyId)).map(Number),
      };
    },
    async run(studyId, runId) {
      try {
        const r = await studies.getRun(studyId, runId);
        return {
          deadline: Number(r.deadline),
          servers: r.servers.map(Number),
          contributors: r.contributors.map(Number),
        };
      } catch (err) {
        if (revertName(err) === "StudyUnknownRun") return undefined;
        throw err;
      }
    },
    async commitments(studyId, runId, custodianOrg) {
      const logs = await studies.queryFilter(
        studies.filters.ContributionCommitted(studyId, runId, custodianOrg),
        fromBlock,
      );
      const last = logs.at(-1);
      return last === undefined ? undefined : last.args.commitments.map((c) => c.toLowerCase() as Hex);
    },
    async custodianOf(studyId, runId, account) {
      try {
        const [, , , readerOrg] = await studies.studyAccessTerms(studyId, runId, account);
        return { orgId: Number(readerOrg) };
      } catch (err) {
        return { refused: revertName(err) };
      }
    },
    async isActive(account) {
      const [status] = await directory.accessorStatus(account);
      return status === 0n;
    },
    async practitionerKey(account) {
      try {
        const v = await directory.getPractitioner(account);
        return { key: v.encryptionKey as Hex, version: Number(v.keyVersion) };
      } catch (err) {
        if (revertName(err) === "DirectoryUnknownPractitioner") return undefined;
        throw err;
      }
    },
    async sumShare(studyId, runId, keyholderId) {
      const [commitment] = await studies.getSumShare(studyId, runId, keyholderId);
      return commitment === ZERO32 ? undefined : (commitment.toLowerCase() as Hex);
    },
    async contributorsDigest(studyId, runId) {
      return (await studies.contributorsDigest(studyId, runId)).toLowerCase() as Hex;
    },
    async publishSumShare(studyId, runId, keyholderId, commitment, digest) {
      if (p.signer === undefined) throw new Error("this aggregation chain view cannot write (no signer)");
      const tx = await studies.connect(p.signer).publishSumShare(studyId, runId, keyholderId, commitment, digest);
      const receipt = await tx.wait();
      return receipt!.hash as Hex;
    },
  };
}
