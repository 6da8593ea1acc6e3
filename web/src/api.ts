/** The JSON API, same origin, cookies included; writes carry the session's CSRF token. */
let csrf: string | undefined;

export function setCsrf(token: string | undefined): void {
  csrf = token;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function parse<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? "ERROR", body.message ?? res.statusText);
  return body as T;
}

export async function get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, v);
  const qs = params.toString();
  return parse<T>(await fetch(qs === "" ? path : `${path}?${qs}`, { credentials: "same-origin" }));
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (csrf !== undefined) headers["x-csrf-token"] = csrf;
  return parse<T>(
    await fetch(path, { method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body) }),
  );
}

/** A URL with a query string (export links). */
export function href(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, v);
  return `${path}?${params.toString()}`;
}
