/**
 * A JSON-RPC proxy on 127.0.0.1 in front of a test node that refuses `eth_getLogs` over more than
 * `maxRange` blocks (as hosted nodes do), answering with a JSON-RPC error; everything else passes
 * through. Counts what it refused.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface Call {
  id: unknown;
  method: string;
  params?: unknown[];
}

export interface RefusingProxy {
  url: string;
  refused: number;
  getLogs: number;
  close(): Promise<void>;
}

export async function startRefusingProxy(target: string, maxRange: number): Promise<RefusingProxy> {
  const stats = { refused: 0, getLogs: 0 };
  const tooWide = (call: Call): boolean => {
    if (call.method !== "eth_getLogs") return false;
    stats.getLogs++;
    const filter = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string };
    const from = parseInt(filter.fromBlock ?? "0x0", 16);
    const to = parseInt(filter.toBlock ?? "0x0", 16);
    return to - from + 1 > maxRange;
  };
  const refusal = (call: Call) => ({
    jsonrpc: "2.0",
    id: call.id,
    error: { code: -32005, message: `query exceeds max block range ${maxRange}` },
  });
  const forward = async (body: unknown): Promise<unknown> => {
    const res = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return res.json();
  };
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(text) as Call | Call[];
        let reply: unknown;
        if (Array.isArray(body)) {
          const refused = body.map(tooWide);
          stats.refused += refused.filter(Boolean).length;
          const passed = body.filter((_, i) => !refused[i]);
          const answers = passed.length === 0 ? [] : ((await forward(passed)) as { id: unknown }[]);
          reply = body.map((c, i) => (refused[i] ? refusal(c) : answers.find((a) => a.id === c.id)));
        } else if (tooWide(body)) {
          stats.refused++;
          reply = refusal(body);
        } else {
          reply = await forward(body);
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(reply));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get refused() {
      return stats.refused;
    },
    get getLogs() {
      return stats.getLogs;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
