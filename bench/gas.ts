/**
 * Gas benchmark (not a test): deploys the 1.1 contracts on the in-process network and on anvil,
 * measures gasUsed of each operation, prints each figure next to its target and its floor, and
 * writes reports/gas.json (one flat object: the in-process figures under their names, anvil's under
 * `anvil.<name>`, floors under `floor.<name>`).
 *
 * The floor of an operation is what any implementation must pay: 21,000 + the calldata actually
 * sent + the storage writes the operation must make (listed in FLOOR_STORAGE, with why) + the logs
 * it emits (375 + 375 per topic + 8 per data byte, from the receipt).
 *
 *   npm run bench:gas    (MEDLEDGER_GAS_ANVIL=0 skips the anvil cross-check; MEDLEDGER_GAS_HISTORY=<n>
 *                         shortens the 10,000-consent history while iterating: figures are then not of record)
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ethers as ethersLib } from "ethers";
import type { ContractTransactionResponse, TransactionReceipt } from "ethers";
import { network } from "hardhat";

import { anvilBinary, freePort } from "../fixtures/nodes.js";
import {
  ALL_CATEGORIES,
  Action,
  Category,
  Effect,
  GRANT_TYPES,
  GranteeKind,
  OrgKind,
  Purpose,
  Role,
  YEAR,
  buildWorld,
  commitment,
  consentDomain,
  fakeKey,
  grantFromPatient,
  grantHospitalAppend,
  randomId,
  registerSubject,
  terms,
} from "../fixtures/world.js";
import type { Conn, World } from "../fixtures/world.js";

/** Targets (gas; undefined: none). */
export const GAS_TARGETS: Record<string, number | undefined> = {
  registerPatient: undefined,
  admitOrganization: undefined,
  enrollPractitioner: undefined,
  grantConsent: 100_000,
  grantConsentSealed: 100_000,
  grantConsentBySig: 120_000,
  revokeConsent: 40_000,
  anchorRecord: 80_000,
  anchorRecordSealed: 80_000,
  anchorBatchPerRecord: 500,
  accessRecord: 50_000,
  accessRecordAfter10000Consents: 60_000,
  accessRecordWith16Denies: 60_000,
  accessBatchPerRecord: 15_000,
  breakGlassAccess: undefined,
  checkConsent: undefined,
  checkConsentAfter10000Consents: 60_000,
  releaseLogAnchor: undefined,
};

const FRESH = 22_100; // SSTORE zero -> non-zero on a cold slot (20,000 + 2,100)
const UPDATE = 5_000; // SSTORE non-zero -> non-zero on a cold slot (2,900 + 2,100)

/** The storage writes each operation must make, whatever the implementation (gas, why). */
export const FLOOR_STORAGE: Record<string, [number, string]> = {
  registerPatient: [2 * FRESH, "controller/versions, key"],
  admitOrganization: [3 * FRESH + UPDATE, "organization, key, admin index; counter"],
  enrollPractitioner: [3 * FRESH + UPDATE, "practitioner, key, id->account; counter"],
  grantConsent: [2 * FRESH + UPDATE, "consent, index place (new grantee); consent counter"],
  grantConsentSealed: [2 * FRESH + UPDATE, "as grantConsent (the commitment is emitted, not stored)"],
  grantConsentBySig: [2 * FRESH + 2 * UPDATE, "consent, index place (new grantee); counter, nonce"],
  revokeConsent: [UPDATE + 2_900, "revocation time; index place freed (the slot is read anyway)"],
  anchorRecord: [2 * FRESH, "commitment slot, metadata slot"],
  anchorRecordSealed: [2 * FRESH, "as anchorRecord (the label is inside the commitment)"],
  anchorBatchPerRecord: [FRESH / 1000, "one batch slot for 1,000 records"],
  accessRecord: [0, "none: the log is the record"],
  accessRecordAfter10000Consents: [0, "none"],
  accessRecordWith16Denies: [0, "none"],
  accessBatchPerRecord: [0, "none"],
  breakGlassAccess: [
    3 * FRESH + FRESH + UPDATE + FRESH,
    "session (3 slots), latest-session index; counter; pending reviews",
  ],
  checkConsent: [0, "none (a view)"],
  checkConsentAfter10000Consents: [0, "none (a view)"],
  releaseLogAnchor: [2 * UPDATE, "sequence/time, head"],
};

interface Measured {
  gas: number;
  /** 21,000 + calldata + required storage + logs. */
  floor: number;
}

function calldataGas(data: string): number {
  const bytes = ethersLib.getBytes(data);
  let gas = 0;
  for (const b of bytes) gas += b === 0 ? 4 : 16;
  return gas;
}

function logGas(receipt: TransactionReceipt): number {
  let gas = 0;
  for (const log of receipt.logs) gas += 375 + 375 * log.topics.length + 8 * ethersLib.getBytes(log.data).length;
  return gas;
}

async function measure(key: string, tx: Promise<ContractTransactionResponse>, perRecord = 1): Promise<Measured> {
  const sent = await tx;
  const receipt = await sent.wait();
  if (receipt === null) throw new Error(`${key}: no receipt`);
  const storage = FLOOR_STORAGE[key]?.[0] ?? 0;
  const floor = 21_000 + calldataGas(sent.data) + logGas(receipt) + storage * perRecord;
  return { gas: Math.round(Number(receipt.gasUsed) / perRecord), floor: Math.round(floor / perRecord) };
}

/** A view's gas by estimateGas; its floor is 21,000 + calldata. */
async function measureView(conn: Conn, to: string, data: string): Promise<Measured> {
  const gas = Number(await conn.ethers.provider.estimateGas({ to, data }));
  return { gas, floor: 21_000 + calldataGas(data) };
}

/** Enrolls `n` more practitioners at the lab: grantees of other people's consents. */
async function enrollOthers(w: World, n: number): Promise<string[]> {
  const licence = (await w.now()) + 5 * YEAR;
  const others: string[] = [];
  for (let i = 0; i < n; i++) {
    const account = ethersLib.Wallet.createRandom().address;
    await (
      await w.directory
        .connect(w.labAdmin)
        .enrollPractitioner(w.lab, account, Role.CLINICIAN, licence, fakeKey(`other-${i}`))
    ).wait();
    others.push(account);
  }
  return others;
}

/** The subject's patient grants the doctor READ on everything; a record to read; the permit's id. */
async function doctorCanRead(w: World, subject: string, appendId: string): Promise<{ permit: string; record: string }> {
  const permit = await grantFromPatient(
    w,
    terms({ granteeAccount: w.doctor.address, categories: ALL_CATEGORIES }),
    subject,
  );
  const record = randomId();
  const digest = randomId();
  await (
    await w.records
      .connect(w.doctor)
      .anchorRecord(subject, record, Category.OBSERVATIONS, digest, commitment(), ethersLib.ZeroHash, "p", appendId)
  ).wait();
  return { permit, record };
}

async function increaseTime(conn: Conn, seconds: number): Promise<void> {
  await conn.ethers.provider.send("evm_increaseTime", [seconds]);
  await conn.ethers.provider.send("evm_mine", []);
}

// eslint-disable-next-line max-lines-per-function -- one scenario, in order
export async function benchGas(
  conn: Conn,
  log: (line: string) => void = () => undefined,
): Promise<Record<string, Measured>> {
  const w = await buildWorld(conn);
  const g: Record<string, Measured> = {};
  const consentsAddress = await w.consents.getAddress();

  g.admitOrganization = await measure(
    "admitOrganization",
    w.directory.admitOrganization(OrgKind.LAB, w.stranger.address, fakeKey("lab2")),
  );
  const licence = (await w.now()) + 5 * YEAR;
  const nurse = ethersLib.Wallet.createRandom().address;
  g.enrollPractitioner = await measure(
    "enrollPractitioner",
    w.directory.connect(w.hospitalAdmin).enrollPractitioner(w.hospital, nurse, Role.CLINICIAN, licence, fakeKey("n")),
  );
  g.registerPatient = await measure(
    "registerPatient",
    w.directory.connect(w.hospitalAdmin).registerPatient(randomId(), w.relayer.address, fakeKey("p2")),
  );

  // A patient's first consent also creates its consent counter (zero to non-zero): the figure of
  // record is a later grant, to a grantee the patient has not consented to before.
  await grantFromPatient(w, terms({ granteeAccount: w.labTech.address }));
  const appendId = await grantHospitalAppend(w);
  g.grantConsent = await measure(
    "grantConsent",
    w.consents
      .connect(w.patient)
      .grant(w.subject, terms({ granteeAccount: w.doctor.address, categories: ALL_CATEGORIES })),
  );
  const doctorConsent = await w.consents.consentIdAt(w.subject, await w.consents.consentCount(w.subject));
  // Sealed: the same grant whose sealed terms allow a sensitive label. The commitment is 32 random
  // bytes either way; nothing on chain depends on what it commits to.
  g.grantConsentSealed = await measure(
    "grantConsentSealed",
    w.consents
      .connect(w.patient)
      .grant(w.subject, terms({ granteeAccount: w.payerAgent.address, categories: ALL_CATEGORIES })),
  );

  const domain = await consentDomain(w);
  const deadline = (await w.now()) + 3600;
  const signedGrant = async (key: string, granteeOrg: number) => {
    const t = terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg, granteeRoles: Role.CLINICIAN });
    const nonce = await w.consents.nonces(w.patient.address);
    const signature = await w.patient.signTypedData(domain, GRANT_TYPES, {
      signer: w.patient.address,
      subject: w.subject,
      terms: t,
      nonce,
      deadline,
    });
    return measure(key, w.consents.connect(w.relayer).grantBySig(w.subject, t, w.patient.address, deadline, signature));
  };
  // A signer's first signature also pays for its nonce slot: report a later one, to an organization
  // the patient has not consented to before (a new index list: the dearer case).
  await signedGrant("grantConsentBySigFirst", w.hospital);
  g.grantConsentBySig = await signedGrant("grantConsentBySig", w.lab);
  const labConsent = await w.consents.consentIdAt(w.subject, await w.consents.consentCount(w.subject));
  g.revokeConsent = await measure("revokeConsent", w.consents.connect(w.patient).revoke(w.subject, labConsent));

  // Anchors: an unlabelled record (commitment to the empty label mask) and a sealed one (a
  // commitment to a sensitive label). Both commitments are salted hashes: 32 random-looking bytes.
  const anchorOne = (key: string, labelCommitment: string) => {
    const digest = randomId();
    return measure(
      key,
      w.records
        .connect(w.doctor)
        .anchorRecord(
          w.subject,
          randomId(),
          Category.OBSERVATIONS,
          digest,
          labelCommitment,
          ethersLib.ZeroHash,
          `sha256:${digest.slice(2)}`,
          appendId,
        ),
    );
  };
  const salt = () => ethersLib.randomBytes(32);
  const labelCommit = (mask: number) =>
    ethersLib.keccak256(ethersLib.AbiCoder.defaultAbiCoder().encode(["uint8", "bytes32"], [mask, salt()]));
  g.anchorRecord = await anchorOne("anchorRecord", labelCommit(0));
  g.anchorRecordSealed = await anchorOne("anchorRecordSealed", labelCommit(4 /* SUBSTANCE_USE */));

  const tag = ethersLib.hexlify(ethersLib.randomBytes(16));
  const leafCats = [Category.OBSERVATIONS, Category.ENCOUNTERS, Category.CONDITIONS, Category.MEDICATIONS];
  const leaves: [string, string, number, string, string][] = Array.from({ length: 1000 }, (_, i) => [
    w.subject,
    tag + ethersLib.hexlify(ethersLib.randomBytes(16)).slice(2),
    leafCats[i % 4]!,
    randomId(),
    commitment(),
  ]);
  const tree = StandardMerkleTree.of(leaves, ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"]);
  const batchMask = leafCats.reduce((m, c) => m | (1 << c), 0);
  g.anchorBatchPerRecord = await measure(
    "anchorBatchPerRecord",
    w.records
      .connect(w.doctor)
      .anchorBatch(w.subject, tree.root, tag, leaves.length, batchMask, "sha256:" + "ab".repeat(32), appendId),
    leaves.length,
  );

  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const id = randomId();
    await (
      await w.records
        .connect(w.doctor)
        .anchorRecord(w.subject, id, Category.OBSERVATIONS, randomId(), commitment(), ethersLib.ZeroHash, "p", appendId)
    ).wait();
    ids.push(id);
  }
  g.accessRecord = await measure(
    "accessRecord",
    w.records.connect(w.doctor).access(w.subject, ids[0]!, Purpose.TREAT, doctorConsent),
  );
  g.accessBatchPerRecord = await measure(
    "accessBatchPerRecord",
    w.records.connect(w.doctor).accessBatch(w.subject, ids, Purpose.TREAT, doctorConsent),
    ids.length,
  );
  g.breakGlassAccess = await measure(
    "breakGlassAccess",
    w.records.connect(w.responder).breakGlassAccess(w.subject, [ids[1]!], Purpose.ETREAT, 1),
  );
  const checkData = w.consents.interface.encodeFunctionData("check", [
    w.doctor.address,
    w.subject,
    Category.OBSERVATIONS,
    Purpose.TREAT,
    Action.READ,
  ]);
  g.checkConsent = await measureView(conn, consentsAddress, checkData);

  // History: a subject with 10,000 earlier consents to others (20 other practitioners), two in three
  // revoked, one in three expired; then the doctor's permit.
  const others = await enrollOthers(w, 20);
  const busy = await registerSubject(w, w.patient);
  const history = Number(process.env.MEDLEDGER_GAS_HISTORY ?? 10_000);
  log(`  granting ${history} consents to others (two in three revoked, one in three expiring) …`);
  const patientConsents = w.consents.connect(w.patient);
  for (let i = 0; i < history; i++) {
    const expiring = i % 3 === 0;
    const t = terms({
      granteeAccount: others[i % others.length]!,
      validUntil: expiring ? (await w.now()) + 60 : 0,
    });
    await (await patientConsents.grant(busy, t)).wait();
    if (!expiring) await (await patientConsents.revoke(busy, await w.consents.consentIdAt(busy, i + 1))).wait();
    if (i % 120 === 119) await increaseTime(conn, 120);
    if (i % 2000 === 1999) log(`    ${i + 1}`);
  }
  await increaseTime(conn, 120);
  const busyRead = await doctorCanRead(
    w,
    busy,
    await grantFromPatient(
      w,
      terms({
        granteeKind: GranteeKind.ORG_ROLE,
        granteeOrg: w.hospital,
        granteeRoles: Role.CLINICIAN,
        categories: ALL_CATEGORIES,
        actions: Action.APPEND,
      }),
      busy,
    ),
  );
  // Unhinted: the worst case (what 1.0 spent ~3.2M on).
  g.accessRecordAfter10000Consents = await measure(
    "accessRecordAfter10000Consents",
    w.records.connect(w.doctor).access(busy, busyRead.record, Purpose.TREAT, ethersLib.ZeroHash),
  );
  g.checkConsentAfter10000Consents = await measureView(
    conn,
    consentsAddress,
    w.consents.interface.encodeFunctionData("check", [
      w.doctor.address,
      busy,
      Category.OBSERVATIONS,
      Purpose.TREAT,
      Action.READ,
    ]),
  );

  // Sixteen active denies, each naming another practitioner.
  const denied = await registerSubject(w, w.patient);
  for (let i = 0; i < 16; i++) {
    await (
      await patientConsents.grant(
        denied,
        terms({ effect: Effect.DENY, granteeAccount: others[i]!, categories: ALL_CATEGORIES, purposes: 0x3ff }),
      )
    ).wait();
  }
  const deniedAppend = await grantFromPatient(
    w,
    terms({
      granteeKind: GranteeKind.ORG_ROLE,
      granteeOrg: w.hospital,
      granteeRoles: Role.CLINICIAN,
      categories: ALL_CATEGORIES,
      actions: Action.APPEND,
    }),
    denied,
  );
  const deniedRead = await doctorCanRead(w, denied, deniedAppend);
  g.accessRecordWith16Denies = await measure(
    "accessRecordWith16Denies",
    w.records.connect(w.doctor).access(denied, deniedRead.record, Purpose.TREAT, deniedRead.permit),
  );

  // A keyholder anchors its release log at its fixed cadence (the first anchor creates the slots).
  const keyholderAccount = w.signers[19]!;
  await (
    await w.keyholders.addKeyholder(w.hospital, keyholderAccount.address, fakeKey("kh1"), "https://kh1.example")
  ).wait();
  const kh = w.keyholders.connect(keyholderAccount);
  await (await kh.anchorReleaseLog(1, 10, randomId())).wait();
  g.releaseLogAnchor = await measure("releaseLogAnchor", kh.anchorReleaseLog(1, 20, randomId()));
  return g;
}

function table(g: Record<string, Measured>, anvil?: Record<string, Measured>): string {
  const rows = Object.entries(g).map(([k, m]) => {
    const target = GAS_TARGETS[k];
    const verdict = target === undefined ? "" : m.gas <= target ? `≤ ${target} met` : `≤ ${target} MISSED`;
    const a = anvil?.[k]?.gas;
    return `${k.padEnd(32)} ${String(m.gas).padStart(9)} ${String(a ?? "-").padStart(9)} ${String(m.floor).padStart(9)}  ${verdict}`;
  });
  return [
    `${"operation".padEnd(32)} ${"in-proc".padStart(9)} ${"anvil".padStart(9)} ${"floor".padStart(9)}  target`,
    ...rows,
  ].join("\n");
}

/** Starts anvil on 127.0.0.1 with automine (so 10,000 set-up transactions do not wait for blocks). */
async function withAnvil<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const port = await freePort();
  const child = spawn(
    anvilBinary(),
    [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--accounts",
      "20",
      "--hardfork",
      "cancun",
      "--gas-price",
      "0",
      "--base-fee",
      "0",
      "--silent",
    ],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        });
        if (res.ok) break;
      } catch (cause) {
        if (i > 150) throw cause;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return await fn(url);
  } finally {
    child.kill("SIGINT");
  }
}

/** Runs the gas benchmark, prints the table and writes reports/gas.json. */
export async function runGasBench(): Promise<Record<string, number>> {
  const log = (line: string) => console.log(line);
  console.log("in-process network (EDR):");
  const inProc = await network.create();
  const g = await benchGas(inProc, log);
  await inProc.close();
  let anvil: Record<string, Measured> | undefined;
  if (process.env.MEDLEDGER_GAS_ANVIL !== "0") {
    console.log("anvil (cross-check):");
    anvil = await withAnvil(async (url) => {
      const conn = await network.create({ network: "localhost", override: { url } });
      try {
        return await benchGas(conn as unknown as Conn, log);
      } finally {
        await conn.close();
      }
    });
  }
  console.log(table(g, anvil));
  const figures: Record<string, number> = {};
  for (const [k, m] of Object.entries(g)) figures[k] = m.gas;
  for (const [k, m] of Object.entries(g)) figures[`floor.${k}`] = m.floor;
  for (const [k, m] of Object.entries(anvil ?? {})) figures[`anvil.${k}`] = m.gas;
  await mkdir("reports", { recursive: true });
  await writeFile("reports/gas.json", JSON.stringify(figures, null, 2) + "\n");
  console.log("\nwrote reports/gas.json");
  return figures;
}
