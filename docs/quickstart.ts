/**
 * The quick start of docs/sdk.md as a program (CI type-checks it and runs it against anvil, so it
 * cannot drift): deploy with governance handed to a timelock, admit a hospital through it, enroll
 * a doctor, register a patient, grant a consent, put a record, read it, list its history.
 *
 *   npx anvil &                                   # a local chain (installed with the dev tools)
 *   npm run build                                 # the package, as `medledger` resolves to it
 *   node docs/quickstart.ts http://127.0.0.1:8545
 */
import { HDNodeWallet, Wallet, hexlify } from "ethers";
import type { JsonRpcProvider } from "ethers";

import {
  MedLedger,
  connectRpc,
  createIdentity,
  createKeyholder,
  deployMedLedger,
  governance,
  memory,
  memorySlotStore,
} from "medledger";
import type { Identity, Keyholder } from "medledger";

const url = process.argv[2] ?? "http://127.0.0.1:8545";
const provider: JsonRpcProvider = await connectRpc(url); // recommended provider options

// anvil's funded development accounts (a public test mnemonic): the deployer, and the
// consortium's governance council (a multisig in production).
const mnemonic = "test test test test test test test test test test test junk";
const deployer = HDNodeWallet.fromPhrase(mnemonic, undefined, "m/44'/60'/0'/0/0").connect(provider);
const council = HDNodeWallet.fromPhrase(mnemonic, undefined, "m/44'/60'/0'/0/1").connect(provider);

// 1. Deploy. The deployer keeps no power: governance goes to a timelock (60 s delay) whose only
//    proposer is the council.
const addressBook = await deployMedLedger(deployer, {
  network: "quickstart",
  governance: { timelock: { minDelay: 60, proposers: [council.address] } },
  log: (line) => console.log(`deploy: ${line}`),
});

// Every participant: an identity (signing key + X25519 key), a funded wallet, a MedLedger.
const storage = memory(); // filesystem({ dir }) from "medledger/node" on a server
const keyholders = new Map<number, Keyholder>();
async function participant(identity: Identity): Promise<MedLedger> {
  const wallet = new Wallet(hexlify(identity.signingKey), provider);
  await (await council.sendTransaction({ to: wallet.address, value: 10n ** 18n })).wait();
  return MedLedger.create({
    signer: wallet,
    encryptionKey: { privateKey: identity.x25519.privateKey, keyVersion: identity.keyVersion },
    addressBook,
    storage,
    keyholders,
  });
}

// 2. Governance admits a hospital: scheduled by the council, executed after the delay (anvil
//    fast-forwards its clock; on a real network the helper waits).
const hospitalId = createIdentity();
const councilLedger = await MedLedger.create({ signer: council, addressBook, storage, keyholders });
const { value: hospital } = await governance.admitOrganization(
  councilLedger.chain,
  { kind: "HOSPITAL", admin: hospitalId.address, encryptionKey: hospitalId.x25519.publicKey },
  {
    waitForDelay: async (seconds) => {
      await provider.send("evm_increaseTime", [seconds]);
      await provider.send("evm_mine", []);
    },
  },
);
// The hospital's keyholder releases record keys only after a logged access.
keyholders.set(
  hospital,
  createKeyholder({
    orgId: hospital,
    privateKey: hospitalId.x25519.privateKey,
    provider,
    addressBook,
    slots: memorySlotStore(),
  }),
);
console.log(`hospital #${hospital} admitted through the timelock`);

// 3. The hospital's admin enrolls a doctor.
const admin = await participant(hospitalId);
const doctorId = createIdentity();
const doctor = await participant(doctorId);
const latest = await provider.getBlock("latest");
await admin.directory.enrollPractitioner({
  orgId: hospital,
  account: doctor.account,
  roles: ["CLINICIAN"],
  credentialValidUntil: latest!.timestamp + 365 * 24 * 3600, // seconds, or a Date
  encryptionKey: doctorId.x25519.publicKey,
});

// 4. A patient registers (the subject id is derived from the patient's account and a random
//    salt: no personal data on chain, and nobody else can claim it) and grants the doctor a
//    consent to add and read observations for treatment.
const patientId = createIdentity();
const patient = await participant(patientId);
const { value: subject } = await patient.directory.registerPatient({
  controller: patient.account,
  encryptionKey: patientId.x25519.publicKey,
});
const { value: consentId } = await patient.consent.grant(subject, {
  grantee: { practitioner: doctor.account },
  categories: ["OBSERVATIONS"],
  purposes: ["TREAT"],
  actions: ["APPEND", "READ"],
});
console.log(`patient ${subject.slice(0, 10)}… granted consent ${consentId.slice(0, 10)}…`);

// 5. The doctor stores a record (sealed, stored, anchored) and reads it back (the access is
//    logged on chain first, then the keyholder releases the key).
const observation = JSON.stringify({
  resourceType: "Observation",
  code: { text: "HbA1c" },
  valueQuantity: { value: 6.1, unit: "%" },
});
const recordId = await doctor.records.put(subject, observation, {
  category: "OBSERVATIONS",
  mediaType: "application/fhir+json",
});
const read = await doctor.records.get(subject, recordId, { purpose: "TREAT" });
console.log(`read back: ${new TextDecoder().decode(read.content)} (access logged in ${read.accessTx.slice(0, 10)}…)`);

// 6. The history: the record's versions, and who read the patient's records.
const versions = await patient.records.history(subject, recordId);
const accesses = await patient.audit.accessHistory(subject);
console.log(`versions: ${versions.length}; accesses: ${accesses.map((a) => `${a.purpose}/${a.basis}`).join(", ")}`);
provider.destroy();
