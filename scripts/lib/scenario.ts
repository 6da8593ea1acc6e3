/**
 * The whole MedLedger story through the SDK, on any chain: the demo prints it, the node
 * compatibility suite runs it on `hardhat node` and anvil and compares the summaries.
 *
 * Admission consent → FHIR import → a consent signed by the patient and relayed → the doctor reads
 * (logged first) → a payer is refused with the reason → the patient revokes by signature → the
 * doctor is refused → break-glass (flagged, reviewed) → erasure → the patient's access history.
 */
import { AccessDeniedError, MedLedgerError, putFhir } from "../../sdk/index.js";
import type { AccessLogEntry, FhirPutResult, RecordId } from "../../sdk/index.js";
import type { Consortium } from "./consortium.js";

export interface ScenarioSummary {
  imported: number;
  categories: Record<string, number>;
  doctorRead: { mediaType: string; resourceType: string };
  payerRefusal: string;
  afterRevocation: string;
  emergencyRead: string;
  reviewsPendingAfterClose: number;
  afterErasure: string;
  history: { who: string; purpose: string; basis: string }[];
}

export type Log = (line: string) => void;

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ALLOWED";
  } catch (err) {
    if (err instanceof AccessDeniedError) return err.reason;
    if (err instanceof MedLedgerError) return err.code;
    throw err;
  }
}

export async function runSdkScenario(
  c: Consortium,
  bundle: unknown,
  log: Log = () => undefined,
): Promise<ScenarioSummary> {
  const who = new Map<string, string>([
    [c.doctor.wallet.address, "doctor"],
    [c.responder.wallet.address, "emergency responder"],
    [c.payerAgent.wallet.address, "payer"],
    [c.patient.wallet.address, "patient"],
  ]);

  log("The patient is admitted: the hospital's clinicians may APPEND records (not read them).");
  await c.patient.ml.consent.grant(c.subject, {
    grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
    categories: [
      "DEMOGRAPHICS",
      "ENCOUNTERS",
      "OBSERVATIONS",
      "CONDITIONS",
      "MEDICATIONS",
      "ALLERGIES",
      "SUBSTANCE_USE",
    ],
    purposes: ["TREAT"],
    actions: ["APPEND"],
  });

  const imported: FhirPutResult = await putFhir(c.doctor.ml, c.subject, bundle as Parameters<typeof putFhir>[2]);
  const categories: Record<string, number> = {};
  for (const r of imported.resources) categories[r.category] = (categories[r.category] ?? 0) + 1;
  log(
    `Imported ${imported.resources.length} FHIR resources as sealed records (${imported.batched ? "one Merkle batch" : "one by one"}):`,
  );
  for (const r of imported.resources)
    log(`  ${r.resourceType.padEnd(20)} → ${r.category.padEnd(12)} record ${r.recordId.slice(0, 18)}…`);
  const byType = (t: string): RecordId => {
    const r = imported.resources.find((x) => x.resourceType === t);
    if (r === undefined) throw new Error(`the bundle has no ${t}`);
    return r.recordId;
  };
  const observation = byType("Observation");

  log(
    "The patient signs a consent (doctor, TREAT, observations/conditions/medications/allergies); the hospital relays it, the patient pays no gas.",
  );
  const signed = await c.patient.ml.consent.signGrant(c.subject, {
    grantee: { practitioner: c.doctor.wallet.address },
    categories: ["OBSERVATIONS", "CONDITIONS", "MEDICATIONS", "ALLERGIES"],
    purposes: ["TREAT"],
  });
  const { consentId } = await c.relayer.ml.consent.relay(signed);
  log(`  consent ${consentId.slice(0, 18)}… is on chain`);

  const read = await c.doctor.ml.records.get(observation, { purpose: "TREAT" });
  const resource = JSON.parse(new TextDecoder().decode(read.content)) as {
    resourceType: string;
    code?: { coding?: { display?: string }[] };
  };
  log(
    `The doctor reads the ${resource.resourceType} (${resource.code?.coding?.[0]?.display ?? "?"}): access logged in ${read.accessTx.slice(0, 18)}…, then the key was released.`,
  );

  const payerRefusal = await refusal(c.payerAgent.ml.records.get(observation, { purpose: "HPAYMT" }));
  log(`A payer tries to read it for HPAYMT: refused, ${payerRefusal}.`);

  log("The patient revokes the consent (signed, relayed).");
  await c.relayer.ml.consent.relay(await c.patient.ml.consent.signRevoke(c.subject, consentId));
  const afterRevocation = await refusal(c.doctor.ml.records.get(observation, { purpose: "TREAT" }));
  log(`The doctor tries again: refused, ${afterRevocation}.`);

  const emergency = await c.responder.ml.records.get(byType("AllergyIntolerance"), {
    purpose: "ETREAT",
    emergency: { reasonCode: 1 },
  });
  log(
    `Break-glass: the emergency responder reads the allergy record (${emergency.content.length} bytes); the access is flagged EMERGENCY and a review is pending.`,
  );
  const sessions = await c.officer.ml.audit.accessHistory(c.subject);
  const sessionId = BigInt(sessions.filter((s) => s.basis === "EMERGENCY").at(-1)!.basisId);
  await c.officer.ml.emergency.closeReview(sessionId, "JUSTIFIED");
  const reviewsPendingAfterClose = await c.officer.ml.emergency.pendingReviews(c.hospital);
  log(`The privacy officer closes the review as JUSTIFIED (pending reviews: ${reviewsPendingAfterClose}).`);

  const condition = byType("Condition");
  await c.patient.ml.records.erase(condition);
  const afterErasure = await refusal(c.patient.ml.records.get(condition, { purpose: "PATRQT" }));
  log(
    `The patient erases a record: key slots and ciphertext destroyed, a tombstone on chain; reading it: ${afterErasure}.`,
  );

  const entries: AccessLogEntry[] = await c.patient.ml.audit.accessHistory(c.subject);
  const history = entries.map((e) => ({ who: who.get(e.accessor) ?? e.accessor, purpose: e.purpose, basis: e.basis }));
  log("The patient's access history (from the chain):");
  for (const [i, e] of entries.entries()) {
    log(
      `  ${new Date(e.timestamp * 1000).toISOString()}  ${history[i]!.who.padEnd(20)} ${e.purpose.padEnd(7)} ${e.basis.padEnd(9)} record ${e.recordId.slice(0, 18)}…`,
    );
  }

  return {
    imported: imported.resources.length,
    categories,
    doctorRead: { mediaType: read.mediaType, resourceType: resource.resourceType },
    payerRefusal,
    afterRevocation,
    emergencyRead: emergency.category,
    reviewsPendingAfterClose,
    afterErasure,
    history,
  };
}
