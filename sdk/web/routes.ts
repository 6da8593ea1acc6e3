/**
 * Every HTTP route of the web view, in ONE table: the server registers exactly these, and
 * test/web/access.test.ts walks the same table to prove that each non-public route answers 401
 * without a session and 403 to every principal it does not allow (and to writes without the CSRF
 * token).
 *
 * The JSON documents are the audit query results (sdk/indexer/queries.ts): exactly what
 * `medledger audit … --json` prints. A patient's queries are pinned to the subjects the session
 * acts for; an organization's auditor or privacy officer to its own organization.
 */
import type { Wallet } from "ethers";

import { Power } from "../codes.js";
import { decodeContractError, ContractRevertError } from "../chain/errors.js";
import { InvalidInputError } from "../errors.js";
import { EXPORT_FORMATS, exportQuery } from "../exports/collect.js";
import type { ExportFormat } from "../exports/collect.js";
import { buildIntegrityReport } from "../exports/integrity.js";
import type { Deployment } from "../indexer/events.js";
import type { IndexSource } from "../indexer/index-source.js";
import { nowSeconds, parseAccount, parseId } from "../indexer/queries.js";
import type { AccessQuery, ReviewsQuery } from "../indexer/queries.js";
import type { AccessNotice } from "../indexer/watch.js";
import type { BlobStore } from "../storage/types.js";
import type { ConsentRegistry, ParticipantDirectory, RecordRegistry } from "../../types/typechain/index.js";
import type { Principal, PrincipalKind, Session, WebAuth } from "./auth.js";
import { WebAuthError } from "./auth.js";
import type { AccessFeed } from "./feed.js";
import type { Names } from "./names.js";

/** What a handler may use. */
export interface WebContext {
  deployment: Deployment;
  chainId: number;
  origin: string;
  source: IndexSource;
  directory: ParticipantDirectory;
  consents: ConsentRegistry;
  records: RecordRegistry;
  names: Names;
  blobs: BlobStore | undefined;
  relayer: Wallet | undefined;
  auth: WebAuth;
  feed: AccessFeed;
  /** Guardian appointments of a subject from the index (GuardianSet events, oldest first). */
  guardianEvents(subject: string): Promise<{ guardian: string; powers: number; validUntil: number }[]>;
  /** "Now" as the contracts see it: the later of the clock and the newest block's time. */
  chainNow(): Promise<number>;
  /** The organization of each named person who is an enrolled practitioner (from the index). */
  affiliations(): Promise<Record<string, number>>;
  /** Sends one relayed transaction at a time (nonces stay in order). */
  relay<T>(fn: (relayer: Wallet) => Promise<T>): Promise<T>;
}

export type Query = Record<string, string | undefined>;

export interface WebRequest {
  query: Query;
  body: Record<string, unknown>;
  session: Session | undefined;
  ctx: WebContext;
}

/** A streamed answer (SSE, a file download). */
export interface Stream {
  stream: true;
  headers: Record<string, string>;
  /** Writes the body; resolves when done; `closed` aborts when the client goes away. */
  run(write: (chunk: string) => boolean, closed: AbortSignal): Promise<void>;
}

export interface RouteDef {
  method: "GET" | "POST";
  url: string;
  /** "public", or the principals allowed. */
  allow: "public" | readonly PrincipalKind[];
  summary: string;
  handler(req: WebRequest): Promise<unknown>;
}

/** A handler's refusal with an HTTP status. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const forbidden = (message: string) => new HttpError(403, "FORBIDDEN", message);

const ALL: readonly PrincipalKind[] = ["patient", "auditor", "org-auditor", "privacy-officer"];

function principal(req: WebRequest): Principal {
  return req.session!.principal;
}

/** The subject a patient's request is about: the one asked for, if the session acts for it. */
function subjectOf(req: WebRequest, asked: unknown): string {
  const p = principal(req);
  if (p.kind !== "patient") throw forbidden("patients only");
  if (asked === undefined || asked === "") return p.subjects[0]!;
  const subject = parseId("subject", asked);
  if (!p.subjects.includes(subject)) throw forbidden("this session does not act for that subject");
  return subject;
}

/** The organization an organization-bound principal is pinned to (undefined: consortium-wide). */
function pinnedOrganization(p: Principal, asked: string | undefined): number | undefined {
  if (p.kind === "auditor") return asked === undefined || asked === "" ? undefined : orgParam(asked);
  if (p.kind === "patient") throw forbidden("auditors only");
  if (asked !== undefined && asked !== "" && orgParam(asked) !== p.organization) {
    throw forbidden("this session sees only its own organization");
  }
  return p.organization;
}

function orgParam(v: string): number {
  if (!/^\d{1,10}$/.test(v)) throw new InvalidInputError("Invalid organization", { details: JSON.stringify(v) });
  return Number(v);
}

function limitParam(q: Query, fallback = 50): number {
  const v = q.limit;
  if (v === undefined || v === "") return fallback;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 1000) {
    throw new InvalidInputError("Invalid limit", { details: `${JSON.stringify(v)}; allowed: 1..1000` });
  }
  return Number(v);
}

function order(q: Query): "asc" | "desc" {
  if (q.order === undefined || q.order === "") return "desc";
  if (q.order !== "asc" && q.order !== "desc") throw new InvalidInputError("Invalid order", { details: q.order });
  return q.order;
}

function page(q: Query) {
  return {
    limit: limitParam(q),
    order: order(q),
    ...(q.cursor === undefined || q.cursor === "" ? {} : { cursor: q.cursor }),
  };
}

const set = (v: string | undefined): v is string => v !== undefined && v !== "";

/** Access filters from a query string (as the CLI's flags). */
function accessFilters(q: Query): AccessQuery {
  const f: AccessQuery = {};
  if (set(q.subject)) f.subject = q.subject;
  if (set(q.accessor)) f.accessor = q.accessor;
  if (set(q.record)) f.record = q.record;
  if (set(q.purpose)) f.purpose = q.purpose;
  if (set(q.basis)) {
    const basis = q.basis.toUpperCase();
    if (basis !== "CONSENT" && basis !== "EMERGENCY" && basis !== "SUBJECT") {
      throw new InvalidInputError("Invalid basis", { details: `${q.basis}; allowed: CONSENT, EMERGENCY, SUBJECT` });
    }
    f.basis = basis;
  }
  if (q.emergencyOnly === "true" || q.emergencyOnly === "1") f.emergencyOnly = true;
  if (set(q.from)) f.from = q.from;
  if (set(q.to)) f.to = q.to;
  return f;
}

function auditorAccessQuery(req: WebRequest): AccessQuery {
  const organization = pinnedOrganization(principal(req), req.query.organization);
  return { ...accessFilters(req.query), ...(organization === undefined ? {} : { organization }) };
}

function reviewsQuery(req: WebRequest): ReviewsQuery {
  const q = req.query;
  const status = q.status === undefined || q.status === "" ? "all" : q.status;
  if (status !== "pending" && status !== "closed" && status !== "all") {
    throw new InvalidInputError("Invalid status", { details: `${status}; allowed: pending, closed, all` });
  }
  const organization = pinnedOrganization(principal(req), q.organization);
  return {
    status,
    ...(organization === undefined ? {} : { organization }),
    ...(set(q.subject) ? { subject: q.subject } : {}),
  };
}

function consortiumOnly(req: WebRequest): void {
  if (principal(req).kind !== "auditor") throw forbidden("a regulator's auditor only");
}

/** Which live notices a session may see. */
export function noticeVisible(p: Principal, n: AccessNotice): boolean {
  if (p.kind === "patient") return p.subjects.includes(n.access.subject);
  if (p.kind === "auditor") return true;
  if (p.kind === "org-auditor") return n.access.organization === p.organization;
  return false;
}

function sse(req: WebRequest): Stream {
  const p = principal(req);
  return {
    stream: true,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
    run: (write, closed) =>
      new Promise<void>((resolve) => {
        write(": medledger access feed\nretry: 2000\n\n");
        const unsubscribe = req.ctx.feed.subscribe((n) => {
          if (noticeVisible(p, n)) write(`event: access\ndata: ${JSON.stringify(n)}\n\n`);
        });
        const heartbeat = setInterval(() => write(": keep-alive\n\n"), 15_000);
        closed.addEventListener(
          "abort",
          () => {
            clearInterval(heartbeat);
            unsubscribe();
            resolve();
          },
          { once: true },
        );
      }),
  };
}

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
  fhir: "application/fhir+json; charset=utf-8",
};

function exportStream(req: WebRequest): Stream {
  const q = req.query;
  const kind = q.kind ?? "accesses";
  const format = (q.format ?? "csv") as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new InvalidInputError("Invalid format", { details: `${format}; allowed: ${EXPORT_FORMATS.join(", ")}` });
  }
  let query: Record<string, unknown>;
  if (kind === "accesses") query = { ...auditorAccessQuery(req) };
  else if (kind === "reviews") query = { ...reviewsQuery(req) };
  else if (kind === "consents" || kind === "consent-history") {
    consortiumOnly(req);
    query = { subject: parseId("subject", q.subject) };
  } else {
    throw new InvalidInputError("Invalid kind", {
      details: `${kind}; allowed: accesses, reviews, consents, consent-history`,
    });
  }
  query.order = "asc";
  const { ctx } = req;
  const extension = format === "fhir" ? "fhir.json" : format;
  return {
    stream: true,
    headers: {
      "content-type": CONTENT_TYPES[format],
      "content-disposition": `attachment; filename="medledger-${kind}.${extension}"`,
      "cache-control": "no-store",
    },
    run: async (write) => {
      await exportQuery({
        source: ctx.source,
        kind: kind,
        query,
        format,
        write,
        fhir: { chainId: ctx.chainId, registry: ctx.deployment.addresses.records },
      });
    },
  };
}

async function revoke(req: WebRequest): Promise<unknown> {
  const { ctx, body } = req;
  const p = principal(req);
  const subject = subjectOf(req, body.subject);
  const consentId = parseId("consentId", body.consentId);
  const deadline = body.deadline;
  const now = nowSeconds();
  if (typeof deadline !== "number" || !Number.isInteger(deadline) || deadline <= now || deadline > now + 3600) {
    throw new InvalidInputError("Invalid deadline", { details: "unix seconds, in the next hour" });
  }
  if (typeof body.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(body.signature)) {
    throw new InvalidInputError("Invalid signature", { details: "0x and 130 hex digits" });
  }
  const signature = body.signature;
  if (ctx.relayer === undefined) {
    throw new HttpError(503, "NO_RELAYER", "this server has no relayer account configured: it is read-only");
  }
  const signer = parseAccount("signer", p.address);
  try {
    return await ctx.relay(async (relayer) => {
      const registry = ctx.consents.connect(relayer);
      // Dry run first: a refused revocation costs the relayer nothing and says why.
      await registry.revokeBySig.staticCall(subject, consentId, signer, deadline, signature);
      const sent = await registry.revokeBySig(subject, consentId, signer, deadline, signature);
      for (;;) {
        const receipt = await relayer.provider!.getTransactionReceipt(sent.hash);
        if (receipt !== null) {
          if (receipt.status !== 1) throw new HttpError(502, "REVERTED", `transaction ${sent.hash} reverted`);
          return { consentId, subject, transactionHash: sent.hash, blockNumber: receipt.blockNumber };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const decoded = decodeContractError(err);
    if (decoded instanceof ContractRevertError) {
      throw new HttpError(409, decoded.errorName, `the registry refused the revocation: ${decoded.errorName}`);
    }
    throw err;
  }
}

async function profile(req: WebRequest): Promise<unknown> {
  const { ctx } = req;
  const p = principal(req);
  const subject = subjectOf(req, req.query.subject);
  const controller = (await ctx.directory.controllerOf(subject)).toLowerCase();
  const latest = new Map<string, { guardian: string; powers: number; validUntil: number }>();
  for (const g of await ctx.guardianEvents(subject)) latest.set(g.guardian, g);
  const now = await ctx.chainNow();
  const guardians = [...latest.values()]
    .filter((g) => g.powers !== 0)
    .map((g) => ({
      address: g.guardian,
      powers: Object.entries(Power)
        .filter(([, bit]) => (g.powers & bit) !== 0)
        .map(([name]) => name),
      validUntil: g.validUntil === 0 ? null : g.validUntil,
      active: g.validUntil === 0 || g.validUntil > now,
    }));
  return {
    subject,
    subjects: p.kind === "patient" ? p.subjects : [],
    controller,
    you: { address: p.address, as: p.address === controller ? "controller" : "guardian" },
    guardians,
    breakGlassOptedOut: await ctx.consents.breakGlassOptedOut(subject),
  };
}

/** The route table. */
export const ROUTES: readonly RouteDef[] = [
  {
    method: "GET",
    url: "/api/config",
    allow: "public",
    summary: "chain id, consent registry, sign-in domain, whether revocations can be relayed, whether signed in",
    handler: async ({ ctx, session }) => ({
      chainId: ctx.chainId,
      consentRegistry: ctx.deployment.addresses.consents.toLowerCase(),
      signInDomain: new URL(ctx.origin).host,
      canRelay: ctx.relayer !== undefined,
      signedIn: session !== undefined,
    }),
  },
  {
    method: "POST",
    url: "/api/auth/challenge",
    allow: "public",
    summary: "an EIP-4361 sign-in challenge for an address, as patient or auditor",
    handler: async ({ ctx, body }) => ctx.auth.challenge({ address: body.address, role: body.role }),
  },
  {
    method: "POST",
    url: "/api/auth/verify",
    allow: "public",
    summary: "checks the signed challenge and opens a session (cookie)",
    handler: async () => {
      throw new Error("handled by the server (it sets the cookie)");
    },
  },
  {
    method: "POST",
    url: "/api/auth/logout",
    allow: ALL,
    summary: "ends the session",
    handler: async ({ ctx, session }) => {
      ctx.auth.end(session!.id);
      return { ok: true };
    },
  },
  {
    method: "GET",
    url: "/api/session",
    allow: ALL,
    summary: "who is signed in, and the CSRF token for writes",
    handler: async ({ session }) => ({
      principal: session!.principal,
      csrfToken: session!.csrf,
      expiresAt: new Date(session!.expiresAt).toISOString(),
    }),
  },
  {
    method: "GET",
    url: "/api/names",
    allow: ALL,
    summary: "people and organizations as registered off chain, and named practitioners' organizations",
    handler: async ({ ctx }) => ({ ...ctx.names, affiliations: await ctx.affiliations() }),
  },
  {
    method: "GET",
    url: "/api/feed",
    allow: ["patient", "auditor", "org-auditor"],
    summary: "server-sent events: each new access the session may see, as mined and confirmed",
    handler: async (req) => sse(req),
  },
  {
    method: "GET",
    url: "/api/patient/accesses",
    allow: ["patient"],
    summary: "every access to my records (= audit accesses --subject --json)",
    handler: async (req) => req.ctx.source.accesses({ subject: subjectOf(req, req.query.subject), ...page(req.query) }),
  },
  {
    method: "GET",
    url: "/api/patient/consents",
    allow: ["patient"],
    summary: "my consents' history with each one's status now (= audit consents --history --json)",
    handler: async (req) =>
      req.ctx.source.consentHistory({
        subject: subjectOf(req, req.query.subject),
        at: await req.ctx.chainNow(),
        ...page({ ...req.query, limit: req.query.limit ?? "1000" }),
      }),
  },
  {
    method: "GET",
    url: "/api/patient/reviews",
    allow: ["patient"],
    summary: "break-glass sessions on my records and their reviews (= audit reviews --subject --status all --json)",
    handler: async (req) =>
      req.ctx.source.reviews({
        subject: subjectOf(req, req.query.subject),
        status: "all",
        ...page({ ...req.query, limit: req.query.limit ?? "1000" }),
      }),
  },
  {
    method: "GET",
    url: "/api/patient/profile",
    allow: ["patient"],
    summary: "my controller, guardians and break-glass opt-out",
    handler: profile,
  },
  {
    method: "GET",
    url: "/api/patient/nonce",
    allow: ["patient"],
    summary: "the signed-in key's next EIP-712 nonce at the consent registry",
    handler: async ({ ctx, session }) => ({
      signer: session!.principal.address,
      nonce: (await ctx.consents.nonces(session!.principal.address)).toString(),
    }),
  },
  {
    method: "POST",
    url: "/api/patient/revoke",
    allow: ["patient"],
    summary: "relays a revocation the patient signed in the browser (revokeBySig)",
    handler: revoke,
  },
  {
    method: "GET",
    url: "/api/audit/accesses",
    allow: ["auditor", "org-auditor"],
    summary: "accesses, filtered (= audit accesses --json)",
    handler: async (req) => req.ctx.source.accesses({ ...auditorAccessQuery(req), ...page(req.query) }),
  },
  {
    method: "GET",
    url: "/api/audit/reviews",
    allow: ["auditor", "org-auditor", "privacy-officer"],
    summary: "break-glass sessions and reviews (= audit reviews --json)",
    handler: async (req) => req.ctx.source.reviews({ ...reviewsQuery(req), ...page(req.query) }),
  },
  {
    method: "GET",
    url: "/api/audit/integrity",
    allow: ["auditor", "org-auditor"],
    summary: "a subject's integrity report (= audit integrity --json)",
    handler: async (req) => {
      consortiumOnly(req);
      const { ctx } = req;
      return buildIntegrityReport({
        source: ctx.source,
        subject: parseId("subject", req.query.subject),
        ...(ctx.blobs === undefined ? {} : { blobs: ctx.blobs }),
        registry: ctx.records,
      });
    },
  },
  {
    method: "GET",
    url: "/api/audit/record-history",
    allow: ["auditor", "org-auditor"],
    summary: "every version of one record (= record history --json)",
    handler: async (req) => {
      consortiumOnly(req);
      return req.ctx.source.recordHistory({
        subject: parseId("subject", req.query.subject),
        record: parseId("record", req.query.record),
        ...page({ ...req.query, order: req.query.order ?? "asc" }),
      });
    },
  },
  {
    method: "GET",
    url: "/api/audit/export",
    allow: ["auditor", "org-auditor"],
    summary: "a whole query as CSV, JSON, JSON lines or FHIR (= audit export)",
    handler: async (req) => exportStream(req),
  },
];

export { WebAuthError };
