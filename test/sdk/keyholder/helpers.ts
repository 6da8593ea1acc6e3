/** Assertions shared by the keyholder network tests. */
import { expect } from "chai";

import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import { KeyholderRefusal } from "../../../sdk/keyholder/protocol.js";

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** `p` rejects with the client's KeyReleaseRefusedError (which names each keyholder's refusal). */
export async function refusal(p: Promise<unknown>): Promise<KeyReleaseRefusedError> {
  const err = await rejectionOf(p);
  expect(err, "expected a refusal").to.be.instanceOf(KeyReleaseRefusedError);
  return err as KeyReleaseRefusedError;
}

/** `p` (one keyholder's API) rejects with a KeyholderRefusal. */
export async function refused(p: Promise<unknown>): Promise<KeyholderRefusal> {
  const err = await rejectionOf(p);
  expect(err, "expected a keyholder refusal").to.be.instanceOf(KeyholderRefusal);
  return err as KeyholderRefusal;
}
