/**
 * {@link ChainView} over the contracts 1.1 TypeChain bindings, with a per-block cache: the latest
 * block is read at most once per `blockCacheMs`, every view call is made at that block number and
 * memoized by (block, call), and receipts, block times and anchors (which never change once
 * confirmed) are kept in bounded maps. Concurrent releases of one block share one set of RPC calls.
 *
 * @example
 * ```ts
 * import { contractChainView } from "medledger/keyholder";
 * const chain = await contractChainView({ provider, addressBook });
 * ```
 */
import type { Provider } from "ethers";

import type { AddressBook } from "../chain/addressBook.js";
import { ContractRevertError, decodeContractError } from "../chain/errors.js";
import { InvalidInputError } from "../errors.js";
import type { Hex } from "../types.js";
import {
  IConsentRegistry__factory,
  IKeyholderRegistry__factory,
  IParticipantDirectory__factory,
  IRecordRegistry__factory,
  IStudyRegistry__factory,
} from "../../types/typechain/index.js";
import type {
  AccessEvent,
  BlockRef,
  ChainView,
  ConsentCommitment,
  ConsentPublic,
  KeyholderMember,
  RecordCommitment,
  RegisteredKey,
} from "./chainView.js";

const ZERO32 = `0x${"00".repeat(32)}`;

/** The addresses a keyholder or reader needs, from an address book (1.1: with KeyholderRegistry). */
export function keyholderAddresses(book: AddressBook): {
  chainId: bigint;
  keyholderRegistry: string;
  recordRegistry: string;
  consentRegistry: string;
  directory: string;
  startBlock: number;
} {
  const contracts = book.contracts as unknown as Record<string, { address: string; blockNumber: number } | undefined>;
  const kr = contracts.KeyholderRegistry;
  if (kr === undefined) {
    throw new InvalidInputError("The address book has no KeyholderRegistry (a 1.1 deployment is needed)");
  }
  const need = (name: string) => {
    const entry = contracts[name];
    if (entry === undefined) throw new InvalidInputError(`The address book has no ${name}`);
    return entry;
  };
  const entries = ["ParticipantDirectory", "ConsentRegistry", "RecordRegistry", "KeyholderRegistry"].map(need);
  return {
    chainId: BigInt(book.chainId),
    keyholderRegistry: kr.address,
    recordRegistry: need("RecordRegistry").address,
    consentRegistry: need("ConsentRegistry").address,
    directory: need("ParticipantDirectory").address,
    startBlock: Math.min(...entries.map((e) => e.blockNumber)),
  };
}

class Bounded<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.limit) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}

function isRevert(err: unknown, name: string): boolean {
  const e = err as { code?: string; revert?: { name?: string } };
  if (e?.code === "CALL_EXCEPTION" && e.revert?.name === name) return true;
  // Nodes that answer a revert as a JSON-RPC error with data (the in-process Hardhat network):
  // decode the data with the contracts' errors.
  const decoded = decodeContractError(err);
  return decoded instanceof ContractRevertError && decoded.errorName === name;
}

export async function contractChainView(opts: {
  provider: Provider;
  addressBook: AddressBook;
  blockCacheMs?: number;
}): Promise<ChainView> {
  const a = keyholderAddresses(opts.addressBook);
  const { provider } = opts;
  const records = IRecordRegistry__factory.connect(a.recordRegistry, provider);
  const consents = IConsentRegistry__factory.connect(a.consentRegistry, provider);
  const directory = IParticipantDirectory__factory.connect(a.directory, provider);
  const registry = IKeyholderRegistry__factory.connect(a.keyholderRegistry, provider);
  const studyEntry = opts.addressBook.contracts.StudyRegistry;
  const studies = studyEntry === undefined ? undefined : IStudyRegistry__factory.connect(studyEntry.address, provider);
  const cacheMs = opts.blockCacheMs ?? 250;
  const recordRegistry = a.recordRegistry.toLowerCase();

  let latest: { at: number; value: Promise<BlockRef> } | undefined;
  const perBlock = new Map<number, Map<string, Promise<unknown>>>();
  const receipts = new Bounded<
    string,
    Promise<ReturnType<ChainView["accessReceipt"]> extends Promise<infer R> ? R : never>
  >(20_000);
  const times = new Bounded<number, Promise<number>>(20_000);
  const anchors = new Bounded<string, Promise<string | undefined>>(50_000);
  const labelCommitments = new Bounded<string, Promise<Hex | undefined>>(50_000);
  const sealedTermsCache = new Bounded<string, Promise<Hex | undefined>>(50_000);

  /** A never-changing value found in events: cached once found, re-read while absent. */
  function once<T>(cache: Bounded<string, Promise<T | undefined>>, key: string, read: () => Promise<T | undefined>) {
    let p = cache.get(key);
    if (p === undefined) {
      p = read();
      cache.set(key, p);
      p.then((v) => v === undefined && cache.delete(key)).catch(() => cache.delete(key));
    }
    return p;
  }

  function memo<T>(block: number, key: string, read: () => Promise<T>): Promise<T> {
    let m = perBlock.get(block);
    if (m === undefined) {
      perBlock.set(block, (m = new Map<string, Promise<unknown>>()));
      for (const b of perBlock.keys()) if (b < block - 4) perBlock.delete(b);
    }
    let p = m.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = read();
      m.set(key, p);
      p.catch(() => m.delete(key));
    }
    return p;
  }

  const blockTag = (block: number) => ({ blockTag: block });

  const view: ChainView = {
    chainId: a.chainId,
    keyholderRegistry: a.keyholderRegistry,
    recordRegistry: a.recordRegistry,
    consentRegistry: a.consentRegistry,

    latest(fresh = false) {
      const now = Date.now();
      if (fresh || latest === undefined || now - latest.at >= cacheMs) {
        const value = provider.getBlock("latest").then((b) => {
          if (b === null) throw new Error("no latest block");
          times.set(b.number, Promise.resolve(b.timestamp));
          return { number: b.number, timestamp: b.timestamp };
        });
        latest = { at: now, value };
        value.catch(() => (latest = undefined));
      }
      return latest.value;
    },

    blockTimestamp(n) {
      let p = times.get(n);
      if (p === undefined) {
        p = provider.getBlock(n).then((b) => {
          if (b === null) throw new Error(`no block ${n}`);
          return b.timestamp;
        });
        times.set(n, p);
        p.catch(() => times.delete(n));
      }
      return p;
    },

    accessReceipt(txHash) {
      const key = txHash.toLowerCase();
      let p = receipts.get(key);
      if (p === undefined) {
        p = provider.getTransactionReceipt(txHash).then((r) => {
          if (r === null) return null;
          const accesses: AccessEvent[] = [];
          for (const log of r.logs) {
            if (log.address.toLowerCase() !== recordRegistry) continue;
            const parsed = records.interface.parseLog(log);
            if (parsed?.name !== "RecordAccessed") continue;
            accesses.push({
              subject: (parsed.args.subject as string).toLowerCase() as Hex,
              recordId: (parsed.args.recordId as string).toLowerCase() as Hex,
              accessor: parsed.args.accessor as string,
              purpose: Number(parsed.args.purpose),
              basis: Number(parsed.args.basis),
              basisId: parsed.args.basisId as Hex,
            });
          }
          return { blockNumber: r.blockNumber, status: r.status ?? 0, accesses };
        });
        receipts.set(key, p);
        // Unknown (not yet mined) receipts and failures are not cached.
        p.then((r) => r === null && receipts.delete(key)).catch(() => receipts.delete(key));
      }
      return p;
    },

    record(subject, recordId, block) {
      return memo(block, `record:${subject}:${recordId}`, async () => {
        try {
          const r = await records.getRecord(subject, recordId, blockTag(block));
          return {
            custodian: Number(r.custodian),
            category: Number(r.category),
            anchoredAt: Number(r.anchoredAt),
            erasedAt: Number(r.erasedAt),
            superseded: r.superseded,
          };
        } catch (err) {
          if (isRevert(err, "RecordUnknown")) return undefined;
          throw err;
        }
      });
    },

    anchoredBy(subject, recordId) {
      const key = `${subject}:${recordId}`.toLowerCase();
      let p = anchors.get(key);
      if (p === undefined) {
        p = (async () => {
          const direct = await records.queryFilter(records.filters.RecordAnchored(subject, recordId), a.startBlock);
          if (direct[0] !== undefined) return direct[0].args.anchoredBy;
          const proven = await records.queryFilter(records.filters.RecordProven(subject, recordId), a.startBlock);
          if (proven[0] === undefined) return undefined;
          const batch = await records.queryFilter(
            records.filters.BatchAnchored(subject, proven[0].args.root),
            a.startBlock,
          );
          return batch[0]?.args.anchoredBy;
        })();
        anchors.set(key, p);
        p.then((v) => v === undefined && anchors.delete(key)).catch(() => anchors.delete(key));
      }
      return p;
    },

    accessorStatus(account, block) {
      return memo(block, `status:${account}`, async () => {
        const s = await directory.accessorStatus(account, blockTag(block));
        return {
          status: Number(s.status),
          orgId: Number(s.orgId),
          roles: Number(s.roles),
          practitionerId: Number(s.practitionerId),
        };
      });
    },

    labelCommitment(subject, recordId) {
      return once(labelCommitments, `${subject}:${recordId}`.toLowerCase(), async () => {
        const direct = await records.queryFilter(records.filters.RecordAnchored(subject, recordId), a.startBlock);
        if (direct[0] !== undefined) return direct[0].args.labelCommitment.toLowerCase() as Hex;
        const proven = await records.queryFilter(records.filters.RecordProven(subject, recordId), a.startBlock);
        if (proven[0] !== undefined) return proven[0].args.labelCommitment.toLowerCase() as Hex;
        const imported = await records.queryFilter(records.filters.RecordImported(subject, recordId), a.startBlock);
        return imported[0]?.args.labelCommitment.toLowerCase() as Hex | undefined;
      });
    },

    sealedTerms(subject, consentId) {
      return once(sealedTermsCache, `${subject}:${consentId}`.toLowerCase(), async () => {
        const granted = await consents.queryFilter(consents.filters.ConsentGranted(subject, consentId), a.startBlock);
        return granted[0]?.args.terms.sealedTerms.toLowerCase() as Hex | undefined;
      });
    },

    consent(subject, consentId, block) {
      return memo(block, `consent:${subject}:${consentId}`, async (): Promise<ConsentPublic | undefined> => {
        try {
          const c = await consents.getConsent(subject, consentId, blockTag(block));
          return {
            effect: Number(c.effect),
            granteeKind: Number(c.granteeKind),
            granteeAccount: c.granteeAccount,
            granteeOrg: Number(c.granteeOrg),
            granteeRoles: Number(c.granteeRoles),
            categories: Number(c.categories),
            purposes: Number(c.purposes),
            actions: Number(c.actions),
            validFrom: Number(c.validFrom),
            validUntil: Number(c.validUntil),
            revokedAt: Number(c.revokedAt),
          };
        } catch (err) {
          if (isRevert(err, "ConsentUnknown")) return undefined;
          throw err;
        }
      });
    },

    listedConsents(subject, effect, granteeKind, grantee, block) {
      return memo(block, `listed:${subject}:${effect}:${granteeKind}:${grantee}`, async () =>
        (await consents.listedConsents(subject, effect, granteeKind, grantee, blockTag(block))).map(
          (id) => id.toLowerCase() as Hex,
        ),
      );
    },

    organizationKind(orgId, block) {
      return memo(block, `orgKind:${orgId}`, async () => {
        try {
          return Number((await directory.getOrganization(orgId, blockTag(block))).kind);
        } catch (err) {
          if (isRevert(err, "DirectoryUnknownOrganization")) return 0;
          throw err;
        }
      });
    },

    async recordCommitments() {
      const [anchored, proven, imported, batches] = await Promise.all([
        records.queryFilter(records.filters.RecordAnchored(), a.startBlock),
        records.queryFilter(records.filters.RecordProven(), a.startBlock),
        records.queryFilter(records.filters.RecordImported(), a.startBlock),
        records.queryFilter(records.filters.BatchAnchored(), a.startBlock),
      ]);
      const batchCustodian = new Map(batches.map((b) => [`${b.args.subject}:${b.args.root}`.toLowerCase(), b]));
      const out: RecordCommitment[] = [];
      const add = (subject: string, recordId: string, label: string, custodian: bigint | number, blockNumber: number) =>
        out.push({
          subject: subject.toLowerCase() as Hex,
          recordId: recordId.toLowerCase() as Hex,
          labelCommitment: label.toLowerCase() as Hex,
          custodian: Number(custodian),
          blockNumber,
        });
      for (const e of anchored)
        add(e.args.subject, e.args.recordId, e.args.labelCommitment, e.args.custodian, e.blockNumber);
      for (const e of imported)
        add(e.args.subject, e.args.recordId, e.args.labelCommitment, e.args.custodian, e.blockNumber);
      for (const e of proven) {
        const batch = batchCustodian.get(`${e.args.subject}:${e.args.root}`.toLowerCase());
        add(e.args.subject, e.args.recordId, e.args.labelCommitment, batch?.args.custodian ?? 0, e.blockNumber);
      }
      return out;
    },

    async consentCommitments() {
      const granted = await consents.queryFilter(consents.filters.ConsentGranted(), a.startBlock);
      return granted.map((e): ConsentCommitment => ({
        subject: e.args.subject.toLowerCase() as Hex,
        consentId: e.args.consentId.toLowerCase() as Hex,
        effect: Number(e.args.terms.effect),
        sealedTerms: e.args.terms.sealedTerms.toLowerCase() as Hex,
        blockNumber: e.blockNumber,
      }));
    },

    ...(studies === undefined
      ? {}
      : {
          studyRead(reader: string, subject: Hex, category: number, studyId: Hex, block: number) {
            return memo(block, `study:${reader}:${subject}:${category}:${studyId}`, async () => {
              let terms;
              try {
                terms = await studies.studyAccessTerms(studyId, 0, reader, blockTag(block));
              } catch (err) {
                const decoded = decodeContractError(err);
                if (!(decoded instanceof ContractRevertError) || !decoded.errorName.startsWith("Study")) throw err;
                // The study no longer accepts the reader (closed, expired, suspended, not a custodian).
                return { allowed: false, reason: 8 /* GRANTEE_MISMATCH */, basis: 0, consentId: ZERO32 as Hex };
              }
              const d = await consents.checkStudy(subject, terms[2], 1 << category, terms[0], blockTag(block));
              return {
                allowed: d.allowed,
                reason: Number(d.reason),
                basis: Number(d.basis),
                consentId: d.consentId as Hex,
              };
            });
          },
        }),
    checkWithHint(accessor, subject, category, purpose, action, hint, block) {
      return memo(block, `check:${accessor}:${subject}:${category}:${purpose}:${action}:${hint}`, async () => {
        const d = await consents.checkWithHint(accessor, subject, category, purpose, action, hint, blockTag(block));
        return { allowed: d.allowed, reason: Number(d.reason), basis: Number(d.basis), consentId: d.consentId as Hex };
      });
    },

    actsFor(subject, account, power, block) {
      return memo(block, `acts:${subject}:${account}:${power}`, () =>
        directory.actsFor(subject, account, power, blockTag(block)),
      );
    },

    controllerOf(subject, block) {
      return memo(block, `controller:${subject}`, () => directory.controllerOf(subject, blockTag(block)));
    },

    emergencySession(id, block) {
      return memo(block, `session:${id}`, async () => {
        try {
          const s = await records.getEmergencySession(id, blockTag(block));
          return {
            subject: s.subject as Hex,
            responder: s.responder,
            expiresAt: Number(s.expiresAt),
            outcome: Number(s.outcome),
          };
        } catch (err) {
          if (isRevert(err, "ReviewUnknownSession")) return undefined;
          throw err;
        }
      });
    },

    breakGlassOptedOut(subject, block) {
      return memo(block, `optout:${subject}`, () => consents.breakGlassOptedOut(subject, blockTag(block)));
    },

    findDeny(accessor, subject, categories, purpose, action, block) {
      return memo(
        block,
        `deny:${accessor}:${subject}:${categories}:${purpose}:${action}`,
        async () => (await consents.findDeny(accessor, subject, categories, purpose, action, blockTag(block))) as Hex,
      );
    },

    practitionerKey(account, block) {
      return memo(block, `pkey:${account}`, async (): Promise<RegisteredKey | undefined> => {
        try {
          const p = await directory.getPractitioner(account, blockTag(block));
          return { key: p.encryptionKey as Hex, version: Number(p.keyVersion) };
        } catch (err) {
          if (isRevert(err, "DirectoryUnknownPractitioner")) return undefined;
          throw err;
        }
      });
    },

    patientKey(subject, block) {
      return memo(block, `patientKey:${subject}`, async (): Promise<RegisteredKey | undefined> => {
        try {
          const p = await directory.getPatient(subject, blockTag(block));
          return { key: p.encryptionKey as Hex, version: Number(p.keyVersion) };
        } catch (err) {
          if (isRevert(err, "DirectoryUnknownSubject")) return undefined;
          throw err;
        }
      });
    },

    accountKey(account, block) {
      return memo(block, `akey:${account}`, async (): Promise<RegisteredKey | undefined> => {
        const k = await directory.getAccountKey(account, blockTag(block));
        return k.encryptionKey === ZERO32 ? undefined : { key: k.encryptionKey as Hex, version: Number(k.keyVersion) };
      });
    },

    async keyholderSet(block) {
      const b = block ?? (await view.latest()).number;
      return memo(b, "set", async () => {
        const [ids, threshold, epoch] = await Promise.all([
          registry.activeKeyholders(blockTag(b)),
          registry.threshold(blockTag(b)),
          registry.epoch(blockTag(b)),
        ]);
        const members = await Promise.all(ids.map((id) => memberAt(Number(id), b)));
        return {
          epoch,
          threshold: Number(threshold),
          members: members.filter((m): m is KeyholderMember => m !== undefined).sort((x, y) => x.id - y.id),
        };
      });
    },

    async keyholder(id) {
      return memberAt(id, (await view.latest()).number);
    },

    async keyholderOf(account) {
      return Number(await registry.keyholderOf(account));
    },

    async erasures(fromBlock, toBlock) {
      const events = await records.queryFilter(records.filters.RecordErased(), fromBlock, toBlock);
      return events.map((e) => ({
        subject: e.args.subject as Hex,
        recordId: e.args.recordId as Hex,
        blockNumber: e.blockNumber,
      }));
    },

    async releaseLogAnchors(keyholderId) {
      const events = await registry.queryFilter(registry.filters.ReleaseLogAnchored(keyholderId), a.startBlock);
      return Promise.all(
        events.map(async (e) => ({
          seq: Number(e.args.sequence),
          head: e.args.head as Hex,
          at: await view.blockTimestamp(e.blockNumber),
        })),
      );
    },
  };

  function memberAt(id: number, block: number): Promise<KeyholderMember | undefined> {
    return memo(block, `keyholder:${id}`, async () => {
      try {
        const k = await registry.getKeyholder(id, blockTag(block));
        return {
          id,
          orgId: Number(k.orgId),
          account: k.account,
          encryptionKey: k.encryptionKey as Hex,
          keyVersion: Number(k.keyVersion),
          active: k.active,
          endpoint: k.endpoint,
        };
      } catch (err) {
        if (isRevert(err, "KeyholderUnknown")) return undefined;
        throw err;
      }
    });
  }

  return view;
}
