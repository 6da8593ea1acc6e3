/**
 * The web view's HTTP server (Fastify): the page's assets, the JSON API of {@link ROUTES}, the
 * sign-in and the live feed, over an index that it can keep current itself (`follow`).
 *
 * Security: a strict Content-Security-Policy (only this origin's script and style, no inline
 * code), `nosniff`, no referrer, no framing; no caching of API answers; sessions in HttpOnly,
 * SameSite=Strict cookies; every write needs the session's CSRF token in `x-csrf-token`, a JSON
 * body, and (when the browser sends one) this origin's `Origin`.
 *
 * @example
 * ```ts
 * import { readWebConfig, startWebServer } from "medledger/web";
 * const web = await startWebServer(await readWebConfig("web.json"), { relayerPassphrase });
 * console.log(web.url);
 * await web.close();
 * ```
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { JsonRpcProvider, Wallet, getBytes, hexlify } from "ethers";

import { readAddressBook } from "../node.js";
import { decryptKeystore } from "../crypto/keystore.js";
import { MedLedgerError } from "../errors.js";
import { deploymentFromAddressBook } from "../indexer/events.js";
import { IndexSource } from "../indexer/index-source.js";
import { Indexer } from "../indexer/indexer.js";
import { httpRpc } from "../indexer/rpc.js";
import { openStore } from "../indexer/store/index.js";
import type { SqlStore } from "../indexer/store/types.js";
import { loadOptionalDependencies } from "../peers.js";
import { filesystem } from "../storage/filesystem.js";
import {
  ConsentRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
} from "../../types/typechain/index.js";
import { loadWebAssets } from "./assets.js";
import type { Asset } from "./assets.js";
import { WebAuth, WebAuthError } from "./auth.js";
import type { Session } from "./auth.js";
import type { WebConfig } from "./config.js";
import { AccessFeed } from "./feed.js";
import { readNames } from "./names.js";
import { HttpError, ROUTES } from "./routes.js";
import type { Stream, WebContext, WebRequest } from "./routes.js";
import { readFile } from "node:fs/promises";

export const SESSION_COOKIE = "medledger_session";

export interface RunningWeb {
  /** The address it listens on, e.g. http://127.0.0.1:8720. */
  url: string;
  /** The origin the page is served under (SIWE domain). */
  origin: string;
  context: WebContext;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The relayer keystore's passphrase (the command reads it from the env var the config names). */
  relayerPassphrase?: string;
  /** Log lines (JSON); default: stderr at the config's level. */
  log?: (line: Record<string, unknown>) => void;
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function isStream(v: unknown): v is Stream {
  return typeof v === "object" && v !== null && (v as { stream?: unknown }).stream === true;
}

/** Opens everything the config names and starts listening. */
export async function startWebServer(config: WebConfig, opts: StartOptions = {}): Promise<RunningWeb> {
  // Fastify is an optional peer dependency: a missing one fails before anything is opened.
  const Fastify = (await loadOptionalDependencies({ fastify: () => import("fastify") }, ["fastify"], "The web view"))
    .fastify.default;
  const log =
    opts.log ??
    ((line: Record<string, unknown>) => {
      if (config.logLevel !== "silent") process.stderr.write(`${JSON.stringify(line)}\n`);
    });
  const book = await readAddressBook(config.addressBook);
  const deployment = deploymentFromAddressBook(book);
  const provider = new JsonRpcProvider(config.rpcUrl, deployment.chainId, {
    staticNetwork: true,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  const store: SqlStore = await openStore(config.index);
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      provider.destroy();
    },
    () => store.close(),
  ];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };
  try {
    let relayer: Wallet | undefined;
    if (config.relayer !== undefined) {
      const passphrase = opts.relayerPassphrase ?? process.env[config.relayer.passphraseEnv];
      if (passphrase === undefined || passphrase.length === 0) {
        throw new MedLedgerError("ML_INVALID_INPUT", `No relayer passphrase: set ${config.relayer.passphraseEnv}`);
      }
      const identity = await decryptKeystore(await readFile(config.relayer.keystore, "utf8"), passphrase);
      relayer = new Wallet(hexlify(identity.signingKey), provider);
    }
    const directory = ParticipantDirectory__factory.connect(deployment.addresses.directory, provider);
    const consents = ConsentRegistry__factory.connect(deployment.addresses.consents, provider);
    const records = RecordRegistry__factory.connect(deployment.addresses.records, provider);
    const names = await readNames(config.names);
    const blobs = config.blobs === undefined ? undefined : filesystem({ dir: config.blobs });
    if (blobs !== undefined) cleanups.push(() => blobs.close());

    // The index: follow the chain here, or read one another process keeps current.
    let indexer: Indexer | undefined;
    const stopIndexer = new AbortController();
    let following: Promise<void> | undefined;
    if (config.follow) {
      indexer = await Indexer.create({
        store,
        rpc: httpRpc(config.rpcUrl),
        deployment,
        confirmations: config.confirmations,
      });
      await indexer.sync();
      following = indexer
        .follow({ signal: stopIndexer.signal, pollIntervalMs: config.pollIntervalMs })
        .catch((err: unknown) => log({ level: "error", msg: "indexer stopped", error: String(err) }));
      cleanups.push(async () => {
        stopIndexer.abort();
        await following;
      });
    }
    const source = new IndexSource(store);

    const feed = new AccessFeed({
      rpc: config.rpcUrl,
      deployment,
      confirmations: Math.max(1, config.confirmations),
      pollIntervalMs: config.pollIntervalMs,
      onError: (err) => log({ level: "warn", msg: "live feed restarting", error: String(err) }),
      always: true,
    });
    feed.start();
    cleanups.push(() => feed.close());

    const assets: Map<string, Asset> = await loadWebAssets();
    const app = Fastify({ logger: false, bodyLimit: 16 * 1024, trustProxy: false });
    cleanups.push(() => app.close());
    // The origin is known once listening (port 0 picks a free port); handlers read it then.
    let url = "";
    let origin = "";

    const candidateSubjects = async (account: string): Promise<string[]> => {
      const rows = await store.all<{ key: string }>(
        "SELECT DISTINCT key FROM events WHERE name IN ('PatientRegistered', 'ControllerChanged', 'GuardianSet') AND args LIKE ?",
        [`%"${account.toLowerCase()}"%`],
      );
      return rows.map((r) => r.key);
    };
    let auth: WebAuth = undefined as unknown as WebAuth;
    const makeAuth = (): WebAuth =>
      new WebAuth({
        directory,
        chainId: deployment.chainId,
        origin,
        candidateSubjects,
        sessionTtlSeconds: config.sessionTtlSeconds,
        challengeTtlSeconds: config.challengeTtlSeconds,
        authCheckSeconds: config.authCheckSeconds,
      });
    let relayQueue: Promise<unknown> = Promise.resolve();
    const context: WebContext = {
      deployment,
      chainId: deployment.chainId,
      origin: "",
      source,
      directory,
      consents,
      records,
      names,
      blobs,
      relayer,
      auth: undefined as unknown as WebAuth,
      feed,
      guardianEvents: async (subject) => {
        const rows = await store.all<{ args: string }>(
          "SELECT args FROM events WHERE name = 'GuardianSet' AND key = ? ORDER BY pos",
          [subject.toLowerCase()],
        );
        return rows.map((r) => {
          const a = JSON.parse(r.args) as { guardian: string; powers: string; validUntil: string };
          return { guardian: a.guardian.toLowerCase(), powers: Number(a.powers), validUntil: Number(a.validUntil) };
        });
      },
      chainNow: async () => {
        const block = await provider.getBlock("latest");
        return Math.max(Math.floor(Date.now() / 1000), block?.timestamp ?? 0);
      },
      affiliations: async () => {
        const out: Record<string, number> = {};
        const people = Object.keys(names.people);
        for (let i = 0; i < people.length; i += 200) {
          const chunk = people.slice(i, i + 200);
          const rows = await store.all<{ account: Uint8Array; org_id: number }>(
            `SELECT account, org_id FROM practitioners WHERE account IN (${chunk.map(() => "?").join(", ")})`,
            chunk.map((a) => getBytes(a)),
          );
          for (const r of rows) out[hexlify(r.account)] = Number(r.org_id);
        }
        return out;
      },
      relay: (fn) => {
        const next = relayQueue.then(() => fn(relayer!));
        relayQueue = next.catch(() => undefined);
        return next;
      },
    };

    const cookie = (value: string, maxAge: number): string =>
      `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${config.secureCookies ? "; Secure" : ""}`;

    const sendError = (reply: FastifyReply, err: unknown): FastifyReply => {
      if (err instanceof WebAuthError)
        return reply.code(err.status).send({
          error: err.status === 401 ? "UNAUTHENTICATED" : err.status === 403 ? "FORBIDDEN" : "BAD_REQUEST",
          message: err.message,
        });
      if (err instanceof HttpError) return reply.code(err.status).send({ error: err.code, message: err.message });
      if (err instanceof MedLedgerError && err.code === "ML_INVALID_INPUT") {
        return reply.code(400).send({ error: "INVALID_INPUT", message: err.shortMessage, details: err.details });
      }
      log({ level: "error", msg: "request failed", error: err instanceof Error ? err.message : String(err) });
      return reply.code(500).send({ error: "INTERNAL", message: "the server could not answer; see its log" });
    };

    app.addHook("onSend", async (_req, reply, payload) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
      return payload;
    });

    for (const [path, asset] of assets) {
      app.get(path, async (_req, reply) =>
        reply
          .type(asset.type)
          .header("cache-control", path === "/" ? "no-store" : "no-cache")
          .send(asset.body),
      );
    }

    /** Authentication, authorisation and CSRF for a route; the session, or a reply already sent. */
    const guard = async (
      route: (typeof ROUTES)[number],
      req: FastifyRequest,
      reply: FastifyReply,
    ): Promise<Session | undefined | FastifyReply> => {
      if (route.method === "POST") {
        const requestOrigin = req.headers.origin;
        if (requestOrigin !== undefined && requestOrigin !== origin) {
          return reply.code(403).send({ error: "FORBIDDEN", message: "cross-origin write refused" });
        }
        if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
          return reply.code(415).send({ error: "UNSUPPORTED_MEDIA_TYPE", message: "send JSON" });
        }
      }
      if (route.allow === "public") {
        // A public answer may still say whether the caller is signed in.
        return auth.session(cookieValue(req.headers.cookie, SESSION_COOKIE)).catch(() => undefined);
      }
      const session = await auth.session(cookieValue(req.headers.cookie, SESSION_COOKIE));
      if (!route.allow.includes(session.principal.kind)) {
        return reply.code(403).send({ error: "FORBIDDEN", message: `not for a ${session.principal.kind} session` });
      }
      if (route.method === "POST" && !auth.csrfMatches(session, req.headers["x-csrf-token"])) {
        return reply.code(403).send({ error: "CSRF", message: "missing or wrong x-csrf-token" });
      }
      return session;
    };

    for (const route of ROUTES) {
      app.route({
        method: route.method,
        url: route.url,
        handler: async (req, reply) => {
          reply.header("cache-control", "no-store");
          try {
            const guarded = await guard(route, req, reply);
            if (guarded !== undefined && !("principal" in guarded)) return guarded;
            const session = guarded;
            const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<string, unknown>;
            if (route.url === "/api/auth/verify") {
              const s = await auth.verify(body.message, body.signature);
              reply.header("set-cookie", cookie(s.id, config.sessionTtlSeconds));
              return reply.send({
                principal: s.principal,
                csrfToken: s.csrf,
                expiresAt: new Date(s.expiresAt).toISOString(),
              });
            }
            if (route.url === "/api/auth/logout") reply.header("set-cookie", cookie("", 0));
            const request: WebRequest = { query: req.query as Record<string, string>, body, session, ctx: context };
            const result = await route.handler(request);
            if (!isStream(result)) return reply.send(result);
            reply.hijack();
            const raw = reply.raw;
            raw.writeHead(200, { ...SECURITY_HEADERS, ...result.headers });
            const closed = new AbortController();
            raw.on("close", () => closed.abort());
            try {
              await result.run((chunk) => raw.write(chunk), closed.signal);
            } catch (err) {
              log({ level: "error", msg: "stream failed", error: String(err) });
            }
            raw.end();
            return reply;
          } catch (err) {
            if (reply.sent) return reply;
            return sendError(reply, err);
          }
        },
      });
    }
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: "NOT_FOUND", message: "no such page" }));

    await app.listen({ host: config.listen.host, port: config.listen.port });
    const address = app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
    const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
    url = `http://${host}:${port}`;
    origin = config.publicOrigin ?? url;
    auth = makeAuth();
    context.origin = origin;
    context.auth = auth;

    log({ level: "info", msg: "web view listening", url, origin, follow: config.follow });
    return {
      url,
      origin,
      context,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
