/**
 * Break-glass reviews over a {@link LedgerContext}: an independent reviewer (a privacy officer
 * of ANOTHER organization than the responder's, or an auditor of a regulator) closes the review
 * of an emergency session; anyone counts an organization's pending reviews. (The break-glass
 * read itself is `records.get` with `emergency`; it honours the subject's denies.)
 *
 * Contract calls built here: RecordRegistry.closeReview; read pendingReviews.
 *
 * @example
 * ```ts
 * import { emergency } from "medledger";
 * await emergency.closeReview(regulatorAuditorCtx, { sessionId, outcome: "JUSTIFIED" });
 * ```
 */
import type { Write } from "../chain/client.js";
import type { ReviewOutcomeName } from "../codes.js";
import { reviewOutcomeCode } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { integer, object, uint } from "../validate.js";

/**
 * An independent reviewer closes a break-glass review (a privacy officer of another organization
 * than the responder's, or an auditor of a regulator); the value is the session id.
 */
export async function closeReview(
  ctx: LedgerContext,
  p: { sessionId: bigint | number; outcome: Exclude<ReviewOutcomeName, "PENDING"> },
): Promise<Write<bigint>> {
  object(p, "params");
  const sessionId = integer(p.sessionId, "sessionId", 1n, (1n << 256n) - 1n);
  const sent = await ctx.chain.send(
    ctx.chain.records.closeReview.populateTransaction(sessionId, reviewOutcomeCode(p.outcome)),
  );
  return { value: sessionId, receipt: sent.receipt };
}

/** How many break-glass sessions of an organization still wait for review. */
export async function pendingReviews(ctx: LedgerContext, p: { orgId: number }): Promise<number> {
  return Number(await ctx.chain.records.pendingReviews(uint(object(p, "params").orgId, "orgId", 32)));
}
