/**
 * A small consortium on any EVM node, through the SDK only: deploys (resumable), admits a
 * hospital and a payer, enrolls a doctor, an emergency responder, a privacy officer and a payer
 * agent, registers a patient, and builds one MedLedger per participant. Used by the demo, the SDK
 * tests and the node compatibility suite.
 */
import { Wallet, ZeroHash, hexlify, keccak256, toUtf8Bytes } from "ethers";
import type { JsonRpcProvider, Provider, Signer } from "ethers";

import { MedLedgerTimelock__factory } from "../../types/typechain/index.js";
import {
  MedLedger,
  OrgKind,
  eventOf,
  createIdentity,
  createKeyholder,
  deployMedLedger,
  memory,
  memoryJournal,
  memorySlotStore,
} from "../../sdk/index.js";
import type { AddressBook, BlobStore, Identity, Journal, Keyholder, SubjectId } from "../../sdk/index.js";

export interface Participant {
  identity: Identity;
  wallet: Wallet;
  ml: MedLedger;
}

export interface Consortium {
  addressBook: AddressBook;
  storage: BlobStore;
  keyholders: Map<number, Keyholder>;
  hospital: number;
  payer: number;
  governance: MedLedger;
  hospitalAdmin: Participant;
  doctor: Participant;
  responder: Participant;
  officer: Participant;
  payerAgent: Participant;
  patient: Participant;
  relayer: Participant;
  subject: SubjectId;
  /** Makes a MedLedger for another identity with the same deployment, storage and keyholders. */
  participant(identity: Identity, opts?: { journal?: Journal }): Promise<Participant>;
}

export interface ConsortiumOptions {
  provider: Provider;
  /** A funded account that deploys, holds governance and funds the participants. */
  funder: Signer;
  network?: string;
  storage?: BlobStore;
  addressBook?: AddressBook;
  /** Wei sent to each participant (0 on zero-gas networks). */
  funding?: bigint;
}

export async function setUpConsortium(opts: ConsortiumOptions): Promise<Consortium> {
  const { provider, funder } = opts;
  const storage = opts.storage ?? memory();
  // Governance stays with the funder here so the set-up can admit organizations; production
  // deployments hand it to a timelock (see scripts/deploy.ts).
  const addressBook =
    opts.addressBook ?? (await deployMedLedger(funder, { network: opts.network ?? "hardhat", governance: false }));
  const keyholders = new Map<number, Keyholder>();
  const funding = opts.funding ?? 10n ** 19n;

  const participant = async (identity: Identity, extra: { journal?: Journal } = {}): Promise<Participant> => {
    const wallet = new Wallet(hexlify(identity.signingKey), provider);
    if (funding > 0n && (await provider.getBalance(wallet.address)) < funding / 2n) {
      await (await funder.sendTransaction({ to: wallet.address, value: funding })).wait();
    }
    const ml = await MedLedger.create({
      signer: wallet,
      encryptionKey: { privateKey: identity.x25519.privateKey, keyVersion: identity.keyVersion },
      addressBook,
      storage,
      keyholders,
      journal: extra.journal ?? memoryJournal(),
    });
    return { identity, wallet, ml };
  };

  const governance = await MedLedger.create({ signer: funder, addressBook, storage, keyholders });
  const hospitalAdmin = await participant(createIdentity());
  const payerAdminId = createIdentity();
  const admit = async (kind: "HOSPITAL" | "PAYER", admin: string, key: Uint8Array): Promise<number> => {
    const timelock = addressBook.contracts.TimelockController;
    if (timelock === undefined || addressBook.governance?.toLowerCase() !== timelock.address.toLowerCase()) {
      return governance.directory.admitOrganization(kind, admin, key);
    }
    // Governance is the timelock: schedule the call, then execute it (a dev network's delay is 0).
    const directory = governance.chain.directory;
    const data = directory.interface.encodeFunctionData("admitOrganization", [OrgKind[kind], admin, key]);
    const t = MedLedgerTimelock__factory.connect(timelock.address, funder);
    const salt = keccak256(toUtf8Bytes(`admit ${admin}`));
    const target = await directory.getAddress();
    await governance.chain.send(t, "schedule", [target, 0, data, ZeroHash, salt, await t.getMinDelay()]);
    const result = await governance.chain.send(t, "execute", [target, 0, data, ZeroHash, salt]);
    return Number(eventOf(result, "OrganizationAdmitted").args.orgId);
  };
  const hospital = await admit("HOSPITAL", hospitalAdmin.wallet.address, hospitalAdmin.identity.x25519.publicKey);
  const payer = await admit("PAYER", payerAdminId.address, payerAdminId.x25519.publicKey);
  keyholders.set(
    hospital,
    createKeyholder({
      orgId: hospital,
      privateKey: hospitalAdmin.identity.x25519.privateKey,
      provider,
      addressBook,
      slots: memorySlotStore(),
    }),
  );
  keyholders.set(
    payer,
    createKeyholder({
      orgId: payer,
      privateKey: payerAdminId.x25519.privateKey,
      provider,
      addressBook,
      slots: memorySlotStore(),
    }),
  );
  // Records the subject anchors themself (custodian 0): the subject's own slots.
  keyholders.set(
    0,
    createKeyholder({
      orgId: 0,
      privateKey: new Uint8Array(32).fill(1),
      provider,
      addressBook,
      slots: memorySlotStore(),
    }),
  );

  const latest = await provider.getBlock("latest");
  const licence = (latest?.timestamp ?? Math.floor(Date.now() / 1000)) + 5 * 365 * 24 * 3600;
  const enroll = async (
    roles: ("CLINICIAN" | "EMERGENCY_RESPONDER" | "PRIVACY_OFFICER" | "PAYER")[],
    orgId = hospital,
    admin = hospitalAdmin,
  ) => {
    const p = await participant(createIdentity());
    await admin.ml.directory.enrollPractitioner({
      orgId,
      account: p.wallet.address,
      roles,
      credentialValidUntil: licence,
      encryptionKey: p.identity.x25519.publicKey,
    });
    return p;
  };
  const doctor = await enroll(["CLINICIAN"]);
  const responder = await enroll(["EMERGENCY_RESPONDER"]);
  const officer = await enroll(["PRIVACY_OFFICER"]);
  const payerAdmin = await participant(payerAdminId);
  const payerAgent = await enroll(["PAYER"], payer, payerAdmin);
  const patient = await participant(createIdentity());
  const relayer = await participant(createIdentity());
  const subject = await patient.ml.directory.registerPatient({
    controller: patient.wallet.address,
    encryptionKey: patient.identity.x25519.publicKey,
  });

  return {
    addressBook,
    storage,
    keyholders,
    hospital,
    payer,
    governance,
    hospitalAdmin,
    doctor,
    responder,
    officer,
    payerAgent,
    patient,
    relayer,
    subject,
    participant,
  };
}

export type { JsonRpcProvider };
