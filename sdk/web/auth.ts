/**
 * Who may sign in, and what each session may see.
 *
 * - **Challenges** (EIP-4361): the server writes the message (domain, URI, chain id, a random
 *   nonce, issue and expiry times, the role and the subjects it covers as resources), keeps it under
 *   its nonce, and accepts it once, before it expires, signed by the address it names.
 * - **Principals**, decided from the chain at sign-in and checked again every `authCheckSeconds`:
 *   - `patient`: the subject's controller, or a guardian holding the ACCESS power
 *     (`ParticipantDirectory.actsFor(subject, account, ACCESS)`); sees only those subjects;
 *   - `auditor`: an ACTIVE practitioner with the AUDITOR role. At a REGULATOR organization it sees
 *     the whole consortium; elsewhere only its own organization's reads and reviews;
 *   - `privacy-officer`: an ACTIVE practitioner with the PRIVACY_OFFICER role; sees its own
 *     organization's break-glass reviews.
 * - **Sessions**: a random 256-bit id in an HttpOnly, SameSite=Strict cookie, held in memory, ending
 *   `sessionTtlSeconds` after sign-in; each has a CSRF token the page sends back on every write.
 *
 * @example
 * ```ts
 * const auth = new WebAuth({ directory, chainId, origin: "http://127.0.0.1:8720", ttl: {...} });
 * const { message } = await auth.challenge({ address, role: "patient", subjects });
 * const session = await auth.verify(message, signature);
 * ```
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

import { getAddress, verifyMessage } from "ethers";

import { OrgKind, Power, Role } from "../codes.js";
import type { ParticipantDirectory } from "../../types/typechain/index.js";
import { SIWE_RESOURCE, formatSiweMessage, parseSiweMessage } from "./siwe.js";

export type PrincipalKind = "patient" | "auditor" | "org-auditor" | "privacy-officer";

export type Principal =
  | { kind: "patient"; address: string; subjects: string[] }
  | { kind: "auditor" | "org-auditor" | "privacy-officer"; address: string; organization: number };

export interface Session {
  id: string;
  csrf: string;
  principal: Principal;
  createdAt: number;
  expiresAt: number;
  /** When the principal was last confirmed on chain (ms). */
  checkedAt: number;
}

/** A refusal the HTTP layer turns into a status code. */
export class WebAuthError extends Error {
  override name = "WebAuthError";
  readonly status: 400 | 401 | 403;
  constructor(status: 400 | 401 | 403, message: string) {
    super(message);
    this.status = status;
  }
}

export type SignInRole = "patient" | "auditor";

interface Challenge {
  message: string;
  address: string;
  role: SignInRole;
  subjects: string[];
  expiresAt: number;
}

export interface WebAuthOptions {
  directory: ParticipantDirectory;
  chainId: number;
  /** The page's origin (SIWE domain and URI). */
  origin: string;
  /** Subjects an address might act for (candidates from the index; the chain decides). */
  candidateSubjects: (address: string) => Promise<string[]>;
  sessionTtlSeconds: number;
  challengeTtlSeconds: number;
  authCheckSeconds: number;
  now?: () => number;
}

const MAX_CHALLENGES = 10_000;
const MAX_SESSIONS = 10_000;

export class WebAuth {
  readonly #o: WebAuthOptions;
  readonly #challenges = new Map<string, Challenge>();
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;

  constructor(o: WebAuthOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get domain(): string {
    return new URL(this.#o.origin).host;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, c] of this.#challenges) if (c.expiresAt <= now) this.#challenges.delete(k);
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k);
  }

  /** Writes a sign-in challenge for `address` as `role`. */
  async challenge(req: { address: unknown; role: unknown }): Promise<{ message: string; expiresAt: string }> {
    if (typeof req.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(req.address)) {
      throw new WebAuthError(400, "address must be 0x and 40 hex digits");
    }
    if (req.role !== "patient" && req.role !== "auditor")
      throw new WebAuthError(400, "role must be patient or auditor");
    this.#sweep();
    if (this.#challenges.size >= MAX_CHALLENGES) throw new WebAuthError(403, "too many pending sign-ins; try later");
    const address = getAddress(req.address);
    const subjects = req.role === "patient" ? await this.#actingSubjects(address) : [];
    if (req.role === "patient" && subjects.length === 0) {
      throw new WebAuthError(403, "this key is neither a patient's controller nor a guardian with ACCESS");
    }
    const nonce = randomBytes(16).toString("hex");
    const issuedAt = new Date(this.#now());
    const expirationTime = new Date(this.#now() + this.#o.challengeTtlSeconds * 1000);
    const message = formatSiweMessage({
      domain: this.domain,
      address,
      statement:
        req.role === "patient"
          ? "Sign in to MedLedger to see who read your records and manage your consents."
          : "Sign in to the MedLedger audit console.",
      uri: this.#o.origin,
      chainId: this.#o.chainId,
      nonce,
      issuedAt,
      expirationTime,
      resources: [SIWE_RESOURCE.role(req.role), ...subjects.map(SIWE_RESOURCE.subject)],
    });
    this.#challenges.set(nonce, {
      message,
      address,
      role: req.role,
      subjects,
      expiresAt: expirationTime.getTime(),
    });
    return { message, expiresAt: expirationTime.toISOString() };
  }

  /** Checks a signed challenge (once) and opens a session. */
  async verify(message: unknown, signature: unknown): Promise<Session> {
    if (typeof message !== "string" || typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
      throw new WebAuthError(400, "message and a 65-byte hex signature are required");
    }
    const nonce = parseSiweMessage(message)?.nonce;
    const challenge = nonce === undefined ? undefined : this.#challenges.get(nonce);
    if (challenge === undefined || challenge.message !== message) {
      throw new WebAuthError(401, "unknown or already used sign-in challenge");
    }
    this.#challenges.delete(nonce!);
    if (challenge.expiresAt <= this.#now()) throw new WebAuthError(401, "the sign-in challenge expired");
    let signer: string;
    try {
      signer = verifyMessage(message, signature);
    } catch {
      throw new WebAuthError(401, "the signature does not verify");
    }
    if (signer !== challenge.address) throw new WebAuthError(401, "the signature is not from the challenge's address");
    const principal = await this.#principal(challenge.address, challenge.role, challenge.subjects);
    this.#sweep();
    if (this.#sessions.size >= MAX_SESSIONS) throw new WebAuthError(403, "too many sessions; try later");
    const now = this.#now();
    const session: Session = {
      id: randomBytes(32).toString("base64url"),
      csrf: randomBytes(32).toString("base64url"),
      principal,
      createdAt: now,
      expiresAt: now + this.#o.sessionTtlSeconds * 1000,
      checkedAt: now,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, its principal re-confirmed on chain when due (401/403 otherwise). */
  async session(id: string | undefined): Promise<Session> {
    const session = id === undefined ? undefined : this.#sessions.get(id);
    if (session === undefined) throw new WebAuthError(401, "sign in first");
    const now = this.#now();
    if (session.expiresAt <= now) {
      this.#sessions.delete(session.id);
      throw new WebAuthError(401, "the session expired; sign in again");
    }
    if (now - session.checkedAt >= this.#o.authCheckSeconds * 1000) {
      const p = session.principal;
      try {
        session.principal = await this.#principal(
          p.address,
          p.kind === "patient" ? "patient" : "auditor",
          p.kind === "patient" ? p.subjects : [],
          p.kind === "patient" ? undefined : p.kind,
        );
      } catch (err) {
        this.#sessions.delete(session.id);
        throw err;
      }
      session.checkedAt = now;
    }
    return session;
  }

  /** Whether `token` is the session's CSRF token (constant time). */
  csrfMatches(session: Session, token: unknown): boolean {
    if (typeof token !== "string") return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  async #actingSubjects(address: string): Promise<string[]> {
    const out: string[] = [];
    for (const subject of await this.#o.candidateSubjects(address)) {
      if (await this.#o.directory.actsFor(subject, address, Power.ACCESS)) out.push(subject.toLowerCase());
    }
    return out;
  }

  async #principal(address: string, role: SignInRole, subjects: string[], was?: Principal["kind"]): Promise<Principal> {
    if (role === "patient") {
      const still: string[] = [];
      for (const s of subjects) if (await this.#o.directory.actsFor(s, address, Power.ACCESS)) still.push(s);
      if (still.length === 0) throw new WebAuthError(403, "this key no longer acts for the patient");
      return { kind: "patient", address: address.toLowerCase(), subjects: still };
    }
    const [status, orgId, roles] = await this.#o.directory.accessorStatus(address);
    if (Number(status) !== 0) throw new WebAuthError(403, "this account is not an active practitioner");
    const organization = Number(orgId);
    let kind: Principal["kind"];
    if ((Number(roles) & Role.AUDITOR) !== 0) {
      const [orgKind] = await this.#o.directory.getOrganization(organization);
      kind = Number(orgKind) === OrgKind.REGULATOR ? "auditor" : "org-auditor";
    } else if ((Number(roles) & Role.PRIVACY_OFFICER) !== 0) {
      kind = "privacy-officer";
    } else {
      throw new WebAuthError(403, "this account holds neither the AUDITOR nor the PRIVACY_OFFICER role");
    }
    if (was !== undefined && was !== kind) throw new WebAuthError(403, "this account's roles changed; sign in again");
    return { kind, address: address.toLowerCase(), organization };
  }
}
