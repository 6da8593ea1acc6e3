/**
 * `npm run demo`: a whole MedLedger consortium on an anvil node on loopback, its records' keys kept
 * by three keyholder services (separate processes, k = 2) run by three of its organizations:
 * deploy (governance handed to a timelock), admit a hospital, a payer and a regulator, register
 * their keyholders in KeyholderRegistry through the timelock, enroll a doctor, an emergency
 * responder and the regulator's inspector, register a patient, import a FHIR bundle, and run the
 * consent / access / revocation / break-glass / erasure story through the keyholders. Then an
 * attacker steals one keyholder's database and private key: it decrypts nothing. Exits 0 when it
 * all holds; every process it started is stopped, also on error.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { JsonRpcProvider, Wallet } from "ethers";

import { deployMedLedger, governance as timelock } from "../sdk/index.js";
import { filesystem } from "../sdk/node.js";
import { contractChainView } from "../sdk/keyholder/chainContracts.js";
import { KeyholderNetwork } from "../sdk/keyholder/client.js";
import { lazyCustody } from "../sdk/records/custody.js";
import { IKeyholderRegistry__factory } from "../types/typechain/index.js";
import { setUpConsortium } from "../fixtures/consortium.js";
import {
  keyholderBaseConfig,
  prepareKeyholder,
  registration,
  startAnvilAutomine,
  stolenStoreAttempt,
} from "../fixtures/keyholders.js";
import type { KeyholderProcess } from "../fixtures/keyholders.js";
import { runSdkScenario } from "../fixtures/sdk-scenario.js";
import type { Hex } from "../sdk/types.js";

const started = Date.now();
const step = (title: string) =>
  console.log(
    `\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))} ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
const DAY = 24 * 3600;
const dir = await mkdtemp(join(tmpdir(), "medledger-demo-"));
// The chain starts a day in the past: the timelock's delays are fast-forwarded, and the chain then
// catches up with the wall clock, which the keyholders check every access against.
const node = await startAnvilAutomine({ genesisTimestamp: Math.floor(Date.now() / 1000) - DAY });
const provider = new JsonRpcProvider(node.url, 1337, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
const keyholders: KeyholderProcess[] = [];
try {
  const fund = (address: string) => provider.send("anvil_setBalance", [address, "0x152d02c7e14af6800000"]);
  const [deployer, consortium] = [Wallet.createRandom(provider), Wallet.createRandom(provider)];
  await Promise.all([fund(deployer.address), fund(consortium.address)]);
  step("Deploy");
  // The deployer keeps no power: governance goes to a timelock (1 hour) whose proposer is the
  // consortium's governance account (a multisig in production).
  const addressBook = await deployMedLedger(deployer, {
    network: "anvil",
    governance: { timelock: { minDelay: 3600, proposers: [consortium.address] } },
    log: (line) => console.log(`  ${line}`),
  });
  const bookPath = join(dir, "addresses.json");
  await writeFile(bookPath, JSON.stringify(addressBook));
  // Three keyholder processes boot now (each turns ready once governance has registered it).
  const base = keyholderBaseConfig(node.url, bookPath, { logLevel: "error" });
  for (const index of [1, 2, 3]) keyholders.push(await prepareKeyholder({ dir, index, fund, baseConfig: base }));
  const booting = keyholders.map((kh) => kh.start());
  // Awaited below; a failure meanwhile must not be an unhandled rejection.
  for (const b of booting) b.catch(() => undefined);

  step("Consortium");
  const storage = filesystem({ dir: join(dir, "blobs") });
  const waitForDelay = async (seconds: number) => {
    await provider.send("evm_increaseTime", [seconds]);
    await provider.send("evm_mine", []);
  };
  // Every participant's key custody: the keyholders registered on chain (read on first use).
  const custody = lazyCustody(async () =>
    KeyholderNetwork.create({ chain: await contractChainView({ provider, addressBook }) }),
  );
  const c = await setUpConsortium({ provider, funder: consortium, addressBook, storage, waitForDelay, custody });
  console.log(
    `  hospital #${c.hospital}, payer #${c.payer} and regulator #${c.regulator} admitted through the timelock (scheduled, 1 h delay, executed)`,
  );
  console.log(`  doctor ${c.doctor.wallet.address}, emergency responder ${c.responder.wallet.address}`);
  console.log(
    `  patient registered as subject ${c.subject} (derived from the patient's account and a random salt; no personal data on chain)`,
  );

  step("Keyholders");
  const registry = IKeyholderRegistry__factory.connect(addressBook.contracts.KeyholderRegistry.address, provider);
  const govern = (call: Parameters<typeof timelock.govern>[1]) =>
    timelock.govern(c.governance.chain, call, { waitForDelay });
  const orgs = [c.hospital, c.payer, c.regulator];
  for (const [i, kh] of keyholders.entries()) {
    const r = registration(kh);
    await govern(registry.addKeyholder.populateTransaction(orgs[i]!, r.account, r.publicKey, r.endpoint));
    kh.id = Number(await registry.keyholderOf(r.account));
  }
  await govern(registry.setThreshold.populateTransaction(2));
  // Back to the wall clock (the chain only moves forward).
  await provider.send("evm_setNextBlockTimestamp", [Math.floor(Date.now() / 1000)]);
  await provider.send("evm_mine", []);
  await Promise.all(booting);
  for (const kh of keyholders)
    console.log(
      `  keyholder ${kh.id} at ${kh.url} (organization of ${["hospital", "payer", "regulator"][kh.index - 1]}), its own process and SQLite store`,
    );
  console.log(
    "  threshold k = 2 of n = 3, registered through the timelock: a record's data key is split in 3 shares, any 2 open it",
  );

  step("Story (every key through the keyholders)");
  const bundle: unknown = JSON.parse(
    await readFile(new URL("../fixtures/data/demo-bundle.json", import.meta.url), "utf8"),
  );
  const summary = await runSdkScenario(c, bundle, (line) => console.log(`  ${line}`));
  // After the revocation the doctor's only consent is the admission (APPEND): reading is not allowed.
  const expected = { payerRefusal: "NO_CONSENT", afterRevocation: "ACTION_NOT_ALLOWED", afterErasure: "RECORD_ERASED" };
  for (const [k, v] of Object.entries(expected)) {
    if (summary[k as keyof typeof expected] !== v)
      throw new Error(`demo: expected ${k} = ${v}, got ${summary[k as keyof typeof expected]}`);
  }

  step("A stolen keyholder store");
  const chain = await contractChainView({ provider, addressBook });
  const anchors = await c.doctor.ml.chain.records.queryFilter(
    c.doctor.ml.chain.records.filters.RecordAnchored(c.subject),
    0,
  );
  const batches = await c.doctor.ml.chain.records.queryFilter(
    c.doctor.ml.chain.records.filters.BatchAnchored(c.subject),
    0,
  );
  // The attacker also copied every envelope from storage (a manifest per batch lists its members).
  const envelopes: { subject: Hex; recordId: Hex; envelope: Uint8Array }[] = [];
  const take = async (recordId: string, pointer: string) => {
    const envelope = await storage.getBytes(pointer).catch(() => undefined);
    if (envelope !== undefined) envelopes.push({ subject: c.subject, recordId: recordId as Hex, envelope });
  };
  for (const a of anchors) await take(a.args.recordId, a.args.pointer);
  for (const b of batches) {
    const manifest = JSON.parse(new TextDecoder().decode(await storage.getBytes(b.args.pointer))) as {
      records: { recordId: string; pointer: string }[];
    };
    for (const m of manifest.records) await take(m.recordId, m.pointer);
  }
  const thief = keyholders[0]!;
  const one = await stolenStoreAttempt({ keyholders: [thief], chain, envelopes });
  console.log(
    `  keyholder ${thief.id}'s database and private key: ${one.shares} shares opened, ${envelopes.length} envelopes, ${one.attempts} decryption attempts → ${one.opened} opened`,
  );
  if (one.opened !== 0 || one.shares === 0) throw new Error("demo: one keyholder's store must decrypt nothing");
  const two = await stolenStoreAttempt({ keyholders: keyholders.slice(0, 2), chain, envelopes, guesses: 0 });
  console.log(
    `  (the same attack on TWO keyholders' stores, k of them, opens ${two.opened}: why the keyholders are run by different organizations)`,
  );

  step("Done");
  console.log(
    `  ${summary.imported} records imported, ${summary.history.length} accesses logged, every refusal had its reason; ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
} finally {
  await Promise.all(keyholders.map((kh) => kh.stop()));
  provider.destroy();
  await node.stop();
  await rm(dir, { recursive: true, force: true });
}
