/**
 * The web view's test harness: anvil (automine), the web world (fixtures/web-world.ts), and the
 * web server following the chain into its own SQLite index; sign-in and API calls from Node with
 * the participants' keys, exactly as the page does (EIP-4361 message, EIP-191 signature).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startTestAnvil } from "../../../fixtures/anvil-ledger.js";
import type { TestNode } from "../../../fixtures/anvil-ledger.js";
import { buildWebWorld } from "../../../fixtures/web-world.js";
import type { Person, WebWorld } from "../../../fixtures/web-world.js";
import { readWebConfig, startWebServer } from "../../../sdk/web/index.js";
import type { RunningWeb } from "../../../sdk/web/index.js";

export const PASSPHRASE = "correct horse battery staple";

export interface Harness {
  node: TestNode;
  world: WebWorld;
  web: RunningWeb;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "medledger-web-"));
  const node = await startTestAnvil();
  try {
    const world = await buildWebWorld(node, { dir, passphrase: PASSPHRASE });
    const web = await startWebServer(await readWebConfig(world.configFile), {
      relayerPassphrase: PASSPHRASE,
      log: () => undefined,
    });
    return {
      node,
      world,
      web,
      stop: async () => {
        await web.close();
        await world.blobs.close();
        await node.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await node.stop();
    throw err;
  }
}

export interface ApiSession {
  cookie: string;
  csrf: string;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

export async function api(
  web: RunningWeb,
  method: "GET" | "POST",
  path: string,
  opts: { session?: ApiSession; body?: unknown; csrf?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.session !== undefined) headers.cookie = opts.session.cookie;
  if (method === "POST") {
    headers["content-type"] ??= "application/json";
    const csrf = opts.csrf === undefined ? opts.session?.csrf : opts.csrf;
    if (csrf !== null && csrf !== undefined) headers["x-csrf-token"] = csrf;
  }
  const res = await fetch(`${web.url}${path}`, {
    method,
    headers,
    ...(method === "POST" ? { body: JSON.stringify(opts.body ?? {}) } : {}),
  });
  const text = res.headers.get("content-type")?.startsWith("text/event-stream") ? "" : await res.text();
  if (text === "") await res.body?.cancel().catch(() => undefined);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** Signs in from Node with a person's key, as the page does. */
export async function signIn(web: RunningWeb, who: Person, role: "patient" | "auditor"): Promise<ApiSession> {
  const challenge = await api(web, "POST", "/api/auth/challenge", { body: { address: who.address, role } });
  if (challenge.status !== 200) throw new Error(`challenge: ${challenge.status} ${challenge.text}`);
  const { message } = challenge.body as { message: string };
  const signature = await who.wallet.signMessage(message);
  const res = await fetch(`${web.url}/api/auth/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, signature }),
  });
  const body = (await res.json()) as { csrfToken: string };
  if (res.status !== 200) throw new Error(`verify: ${res.status} ${JSON.stringify(body)}`);
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0]!, csrf: body.csrfToken };
}
