/**
 * The aggregation server's HTTP routes, registered on the keyholder's Fastify app by one line in
 * `service/server.ts`. They live in their own encapsulated context: their own error handler turns a
 * refusal into `{ code, message, details? }` with its status (never a stack trace), and the share
 * route accepts bodies up to the largest sealed share. The keyholder's per-address rate limit
 * (registered on the parent app) applies to them too.
 *
 * | method, path                        | body → answer                                             |
 * | ----------------------------------- | --------------------------------------------------------- |
 * | `POST /v1/aggregation/shares`       | `{ delivery, signature, slot }` → 201 `{ keyholderId, commitment }` |
 * | `POST /v1/aggregation/aggregate`    | `{ studyId, runId, query? }` → `{ keyholderId, commitment, contributorsDigest, contributors, txHash? }` |
 * | `POST /v1/aggregation/sum-share`    | `{ request, signature }` → `{ keyholderId, slot, commitment, contributorsDigest }` |
 * | `POST /v1/aggregation/status`       | `{ studyId, runId }` → `{ keyholderId, shares, sum }`     |
 *
 * @example
 * ```ts
 * import { registerAggregationRoutes } from "medledger/keyholder";
 * registerAggregationRoutes(app, aggregationServer);
 * ```
 */
import type { FastifyError, FastifyInstance } from "fastify";

import { ShareRefusedError, ShareRefusalStatus } from "../../research/errors.js";
import { MAX_SLOT_BYTES } from "../../research/protocol.js";
import type { AggregationApi } from "./server.js";

/** The largest share delivery body: the slot in hex plus the signed delivery. */
export const SHARE_BODY_LIMIT = 2 * MAX_SLOT_BYTES + 4096;

export function registerAggregationRoutes(app: FastifyInstance, server: AggregationApi): void {
  void app.register(
    (instance, _opts, done) => {
      instance.setErrorHandler((error: FastifyError, request, reply) => {
        if (error instanceof ShareRefusedError) {
          if (error.status >= 500) request.log.warn({ code: error.refusal }, error.shortMessage);
          return reply.code(error.status).type("application/json").send(error.toJSON());
        }
        if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
          return reply.code(413).send({ code: "BAD_REQUEST", message: "The body is too large" });
        }
        if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode < 500)) {
          return reply
            .code(400)
            .send({ code: "BAD_REQUEST", message: "The request is not valid JSON or not well formed" });
        }
        request.log.error({ err: { type: error.name, code: error.code } }, "unexpected error");
        return reply.code(ShareRefusalStatus.INTERNAL).send({ code: "INTERNAL", message: "Internal error" });
      });
      instance.post("/shares", { bodyLimit: SHARE_BODY_LIMIT }, async (request, reply) =>
        reply.code(201).send(await server.receiveShare(request.body)),
      );
      instance.post("/aggregate", async (request) => server.aggregate(request.body));
      instance.post("/sum-share", async (request) => server.sumShare(request.body));
      instance.post("/status", async (request) => server.runStatus(request.body));
      done();
    },
    { prefix: "/v1/aggregation" },
  );
}
