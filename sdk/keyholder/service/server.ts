/**
 * The keyholder's HTTP service: Fastify over a {@link KeyholderCore}. JSON only, a body limit, a
 * per-address token bucket before authentication (the core adds one per authenticated reader),
 * request timeouts, typed JSON errors (`{ code, message, details? }`) and never a stack trace;
 * pino logs with shares, slots, keys, signatures, nonces and subject ids redacted.
 * See docs/keyholders.md ("HTTP API").
 *
 * @example
 * ```ts
 * import { buildKeyholderServer } from "medledger/keyholder/service";
 * const app = buildKeyholderServer({ core, ready: () => core.refreshIdentity() });
 * await app.listen({ host: "127.0.0.1", port: 8710 });
 * ```
 */
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply } from "fastify";
import type * as FastifyModule from "fastify";
import type { Logger } from "pino";
import type * as PinoModule from "pino";

import { requireOptionalDependencies } from "../../peers-node.js";
import { registerAggregationRoutes } from "../aggregation/routes.js";
import type { AggregationApi } from "../aggregation/server.js";
import type { KeyholderCore } from "../core.js";
import { KeyholderRefusal, RefusalCodes } from "../protocol.js";
import type { RefusalCode } from "../protocol.js";

/** Paths pino replaces with "[redacted]" wherever they occur in a log line. */
export const REDACT_PATHS = [
  "slot",
  "share",
  "signature",
  "nonce",
  "subject",
  "passphrase",
  "privateKey",
  "*.slot",
  "*.share",
  "*.signature",
  "*.nonce",
  "*.subject",
  "*.privateKey",
  "*.passphrase",
  "req.headers.authorization",
  "body",
  "*.body",
];

/** What the service is called in a missing-dependency error. */
const FEATURE = "The keyholder service";

/**
 * The service's optional peer dependencies, Fastify and pino: loaded when a service is built, so an
 * app that only reads through the keyholder network never installs them. Throws
 * DependencyMissingError naming every missing one (`npm install fastify pino`).
 */
export function keyholderServiceDependencies(): {
  fastify: typeof FastifyModule;
  pino: typeof PinoModule;
} {
  return requireOptionalDependencies(FEATURE, ["fastify", "pino"]);
}

export function keyholderLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const { pino } = requireOptionalDependencies<{ pino: typeof PinoModule }>(FEATURE, ["pino"]).pino;
  return pino(
    {
      level: opts.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: "keyholder" },
    },
    opts.destination ?? process.stdout,
  );
}

export interface ServerOptions {
  core: KeyholderCore;
  /** The research side of the keyholder (issue 12): served under /v1/aggregation when given. */
  aggregation?: AggregationApi;
  /** Readiness: the failing checks (empty when ready). */
  ready: () => Promise<string[]>;
  logger?: Logger;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  /** Requests per second per client address before authentication (burst = 2×). */
  perAddressPerSecond?: number;
}

function send(reply: FastifyReply, code: RefusalCode, message: string, details?: string) {
  const body = details === undefined ? { code, message } : { code, message, details };
  return reply.code(RefusalCodes[code]).type("application/json").send(body);
}

const FASTIFY_ERRORS: Record<string, RefusalCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "BAD_REQUEST",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BAD_REQUEST",
  FST_ERR_CTP_EMPTY_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_TYPE: "UNSUPPORTED_MEDIA_TYPE",
};

export function buildKeyholderServer(opts: ServerOptions): FastifyInstance {
  const { fastify } = requireOptionalDependencies<{ fastify: typeof FastifyModule }>(FEATURE, ["fastify"]).fastify;
  const logger = opts.logger ?? keyholderLogger({ level: "silent" });
  const app = fastify({
    // pino's Logger satisfies FastifyBaseLogger; the cast keeps the instance's default generics.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: opts.bodyLimitBytes ?? 64 * 1024,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    connectionTimeout: opts.requestTimeoutMs ?? 10_000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });
  const { core } = opts;
  const perSecond = opts.perAddressPerSecond ?? 1000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const inFlight = { n: 0 };

  app.addHook("onRequest", async (request, reply) => {
    const now = Date.now();
    const key = request.ip;
    let b = buckets.get(key);
    if (b === undefined) {
      if (buckets.size > 10_000) buckets.clear();
      buckets.set(key, (b = { tokens: 2 * perSecond, at: now }));
    }
    b.tokens = Math.min(2 * perSecond, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens < 1) return send(reply, "RATE_LIMITED", "Too many requests from this address");
    b.tokens -= 1;
    inFlight.n++;
  });
  app.addHook("onResponse", async () => {
    inFlight.n = Math.max(0, inFlight.n - 1);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof KeyholderRefusal) {
      if (error.status >= 500) request.log.warn({ code: error.refusal }, error.shortMessage);
      const body = error.toJSON();
      return send(reply, body.code, body.message, body.details);
    }
    const mapped = error.code === undefined ? undefined : FASTIFY_ERRORS[error.code];
    if (mapped !== undefined) return send(reply, mapped, error.message);
    if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode < 500)) {
      return send(reply, "BAD_REQUEST", "The request is not valid JSON or not well formed");
    }
    request.log.error({ err: { type: error.name, code: error.code } }, "unexpected error");
    return send(reply, "INTERNAL", "Internal error");
  });
  app.setNotFoundHandler((_request, reply) => send(reply, "NOT_FOUND", "No such endpoint"));

  app.get("/health", async () => ({ status: "ok" }));
  app.get("/ready", async (_request, reply) => {
    const failing = await opts.ready();
    if (failing.length > 0) return send(reply, "NOT_READY", "The keyholder is not ready", failing.join("; "));
    return { ready: true, keyholderId: core.keyholderId, account: core.account };
  });
  app.get("/v1/info", async () => core.info());
  app.get("/v1/log/head", async () => core.logHead());

  const post = (path: string, handler: (body: unknown) => Promise<unknown>, status = 200) =>
    app.post(path, async (request, reply) => {
      const result = await handler(request.body);
      return reply.code(status).send(result);
    });
  post("/v1/shares", (b) => core.deposit(b), 201);
  post("/v1/preflight", (b) => core.preflight(b));
  post("/v1/release", (b) => core.release(b));
  post("/v1/erase", (b) => core.erase(b));
  post("/v1/retire", (b) => core.retire(b));
  post("/v1/reshare/deal", (b) => core.reshareDeal(b));
  post("/v1/reshare/accept", (b) => core.reshareAccept(b));
  post("/v1/reshare/finalize", (b) => core.reshareFinalize(b));
  post("/v1/reshare/list", (b) => core.reshareList(b));
  post("/v1/openings", (b) => core.openings(b), 201);
  post("/v1/log/entries", (b) => core.logEntries(b));
  post("/v1/audit/openings", (b) => core.openingsExport(b));
  if (opts.aggregation !== undefined) registerAggregationRoutes(app, opts.aggregation);
  return app;
}
