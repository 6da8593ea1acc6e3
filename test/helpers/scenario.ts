/**
 * A full on-chain scenario that touches every state-changing function of the three contracts,
 * driven by an app that holds real plaintext (a patient's name, birth date and diagnosis). Shared by
 * the rebuild-from-events test and the no-plaintext-on-chain scan.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ethers as ethersLib } from "ethers";

import { REVOKE_TYPES } from "../../sdk/chain/eip712.js";
import {
  Action,
  Category,
  GRANT_TYPES,
  GranteeKind,
  Power,
  Purpose,
  Role,
  YEAR,
  consentDomain,
  fakeKey,
  grantHospitalAppend,
  randomId,
  terms,
} from "./fixture.js";
import type { World } from "./fixture.js";

/** Plaintext an app holds and must never put on chain. */
export const PLANTED = {
  name: "Abdul Koepp",
  birthDate: "1953-04-12",
  diagnosis: "Essential hypertension",
  snomed: "59621000",
};

/** A FHIR resource with the planted plaintext, sealed the way the SDK seals (ChaCha20-Poly1305). */
export function sealedResource(): { ciphertext: Buffer; digest: string; pointer: string } {
  const plaintext = JSON.stringify({
    resourceType: "Condition",
    subject: { display: PLANTED.name },
    onsetDateTime: PLANTED.birthDate,
    code: { coding: [{ system: "http://snomed.info/sct", code: PLANTED.snomed, display: PLANTED.diagnosis }] },
  });
  const cipher = createCipheriv("chacha20-poly1305", randomBytes(32), randomBytes(12), { authTagLength: 16 });
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  const hex = createHash("sha256").update(ciphertext).digest("hex");
  return { ciphertext, digest: `0x${hex}`, pointer: `sha256:${hex}` };
}

export interface ScenarioResult {
  recordIds: string[];
  batchRoot: string;
  sessionId: bigint;
  secondSubject: string;
}

/** Runs the scenario on a fresh world. Every call succeeds; refusals are tested elsewhere. */
export async function runScenario(w: World): Promise<ScenarioResult> {
  const { directory, consents, records } = w;
  const send = async (tx: Promise<ethersLib.TransactionResponse>): Promise<ethersLib.TransactionReceipt> => {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new Error("no receipt");
    return receipt;
  };
  const licence = (await w.now()) + 3 * YEAR;

  // Directory: a second admin, key rotations, a practitioner update, suspensions and reinstatement.
  const newAdmin = ethersLib.Wallet.createRandom().address;
  await send(directory.setOrganizationAdmin(w.lab, newAdmin));
  await send(directory.connect(w.hospitalAdmin).rotateOrganizationKey(w.hospital, fakeKey("hospital-v2")));
  await send(directory.connect(w.doctor).rotatePractitionerKey(fakeKey("doctor-v2")));
  await send(directory.connect(w.hospitalAdmin).updatePractitioner(w.doctor.address, Role.CLINICIAN, licence));
  await send(directory.connect(w.hospitalAdmin).suspendPractitioner(w.officer.address));
  await send(directory.connect(w.hospitalAdmin).reinstatePractitioner(w.officer.address));
  await send(directory.suspendOrganization(w.payer));
  await send(directory.reinstateOrganization(w.payer));
  await send(directory.connect(w.patient).rotatePatientKey(w.subject, fakeKey("patient-v2")));

  // A second patient, registered by the hospital, recovered by two guardians after losing their key.
  const secondSubject = randomId();
  const lostKey = ethersLib.Wallet.createRandom();
  const recovered = w.signers[14]!;
  await send(directory.connect(w.hospitalAdmin).registerPatient(secondSubject, w.signers[13]!.address, fakeKey("p2")));
  const p2 = directory.connect(w.signers[13]);
  await send(p2.rotateController(secondSubject, lostKey.address));
  const [g1, g2] = [w.signers[15]!, w.signers[16]!].sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1));
  const lostController = directory.connect(lostKey.connect(w.conn.ethers.provider));
  await send(w.signers[0]!.sendTransaction({ to: lostKey.address, value: ethersLib.parseEther("1") }));
  await send(lostController.setGuardian(secondSubject, g1!.address, Power.RECOVER, 0));
  await send(lostController.setGuardian(secondSubject, g2!.address, Power.RECOVER | Power.ERASE, 0));
  await send(lostController.setRecoveryThreshold(secondSubject, 2));
  await send(lostController.cancelRecovery(secondSubject));
  await send(directory.connect(g1).approveRecovery(secondSubject, recovered.address));
  await send(directory.connect(g2).approveRecovery(secondSubject, recovered.address));
  await send(
    directory.connect(w.stranger).executeRecovery(secondSubject, recovered.address, [g1!.address, g2!.address]),
  );

  // Consents: append for the hospital, a doctor permit by relayed signature, a deny for payers,
  // a lab permit later revoked by signature, break-glass opt-out and back in.
  const appendId = await grantHospitalAppend(w);
  const domain = await consentDomain(w);
  const deadline = (await w.now()) + 3600;
  const doctorTerms = terms({
    granteeAccount: w.doctor.address,
    categories: (1 << Category.CONDITIONS) | (1 << Category.OBSERVATIONS),
    purposes: 1 << Purpose.TREAT,
    validUntil: (await w.now()) + YEAR,
  });
  const nonce = await consents.nonces(w.patient.address);
  const grantSig = await w.patient.signTypedData(domain, GRANT_TYPES, {
    subject: w.subject,
    terms: doctorTerms,
    nonce,
    deadline,
  });
  await send(consents.connect(w.relayer).grantBySig(w.subject, doctorTerms, w.patient.address, deadline, grantSig));
  const doctorConsent = await consents.consentIdAt(w.subject, await consents.consentCount(w.subject));
  await send(
    consents.connect(w.guardian).grant(
      w.subject,
      terms({
        effect: 1,
        granteeKind: GranteeKind.ORG_ROLE,
        granteeRoles: Role.PAYER,
        categories: 1 << Category.SUBSTANCE_USE,
        purposes: 0,
        actions: Action.READ,
      }),
    ),
  );
  const labConsent = await consents.consentIdAt(w.subject, Number(await consents.consentCount(w.subject)) + 1);
  await send(
    consents
      .connect(w.patient)
      .grant(w.subject, terms({ granteeKind: GranteeKind.ORG_ROLE, granteeOrg: w.lab, granteeRoles: Role.CLINICIAN })),
  );
  const revokeNonce = await consents.nonces(w.patient.address);
  const revokeSig = await w.patient.signTypedData(domain, REVOKE_TYPES, {
    subject: w.subject,
    consentId: labConsent,
    nonce: revokeNonce,
    deadline,
  });
  await send(consents.connect(w.relayer).revokeBySig(w.subject, labConsent, w.patient.address, deadline, revokeSig));
  await send(consents.connect(w.patient).setBreakGlassOptOut(w.subject, true));
  await send(consents.connect(w.patient).setBreakGlassOptOut(w.subject, false));

  // Records: three versions of one resource, a second resource, a batch with two proven members.
  const recordIds: string[] = [];
  let previous = ethersLib.ZeroHash;
  for (let v = 0; v < 3; v++) {
    const { digest, pointer } = sealedResource();
    const id = randomId();
    await send(
      records.connect(w.doctor).anchorRecord(id, w.subject, Category.CONDITIONS, digest, previous, pointer, appendId),
    );
    recordIds.push(id);
    previous = id;
  }
  const obs = sealedResource();
  const obsId = randomId();
  await send(
    records
      .connect(w.patient)
      .anchorRecord(
        obsId,
        w.subject,
        Category.OBSERVATIONS,
        obs.digest,
        ethersLib.ZeroHash,
        obs.pointer,
        ethersLib.ZeroHash,
      ),
  );
  recordIds.push(obsId);
  const leaves: [string, number, string][] = [0, 1, 2, 3].map((i) => [
    randomId(),
    i % 2 === 0 ? Category.OBSERVATIONS : Category.CONDITIONS,
    sealedResource().digest,
  ]);
  const tree = StandardMerkleTree.of(leaves, ["bytes32", "uint8", "bytes32"]);
  const categories = (1 << Category.OBSERVATIONS) | (1 << Category.CONDITIONS);
  await send(
    records
      .connect(w.doctor)
      .anchorBatch(w.subject, tree.root, leaves.length, categories, sealedResource().pointer, appendId),
  );
  for (const i of [0, 1]) {
    const [id, category, digest] = leaves[i]!;
    await send(records.connect(w.relayer).proveRecord(tree.root, id, category, digest, tree.getProof(i)));
    recordIds.push(id);
  }

  // Accesses: by consent (one and a batch), by the subject, break-glass with a closed review; erasure.
  await send(records.connect(w.doctor).access(recordIds[2]!, Purpose.TREAT, doctorConsent));
  await send(
    records.connect(w.doctor).accessBatch([recordIds[2]!, recordIds[3]!, recordIds[4]!], Purpose.TREAT, doctorConsent),
  );
  await send(records.connect(w.patient).access(recordIds[3]!, Purpose.PATRQT, ethersLib.ZeroHash));
  const receipt = await send(
    records.connect(w.responder).breakGlassAccess([recordIds[3]!, recordIds[5]!], Purpose.ETREAT, 7),
  );
  const declared = receipt.logs
    .map((log) => records.interface.parseLog(log))
    .find((parsed) => parsed?.name === "BreakGlassDeclared");
  const sessionId = declared!.args.sessionId as bigint;
  await send(records.connect(w.officer).closeReview(sessionId, 1));
  await send(records.connect(w.patient).eraseRecord(recordIds[4]!));

  return { recordIds, batchRoot: tree.root, sessionId, secondSubject };
}
