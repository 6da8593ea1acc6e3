/**
 * One live access feed for every open page: a single {@link watch} over the deployment (no
 * subject filter), fanned out to subscribers, each of which filters what its session may see. It
 * runs while at least one page listens and restarts after a node outage.
 *
 * @example
 * ```ts
 * const feed = new AccessFeed({ rpc, deployment, pollIntervalMs: 500 });
 * const stop = feed.subscribe((notice) => console.log(notice.status, notice.access.subject));
 * stop();
 * ```
 */
import { watch } from "../indexer/watch.js";
import type { AccessNotice } from "../indexer/watch.js";
import type { Deployment } from "../indexer/events.js";

export interface AccessFeedOptions {
  rpc: string;
  deployment: Deployment;
  confirmations?: number;
  pollIntervalMs?: number;
  onError?: (err: unknown) => void;
  /** Keep watching with no subscriber too (a page that connects then misses nothing mined since the server started). */
  always?: boolean;
}

export class AccessFeed {
  readonly #o: AccessFeedOptions;
  readonly #subscribers = new Set<(n: AccessNotice) => void>();
  #controller: AbortController | undefined;
  #running: Promise<void> | undefined;

  constructor(o: AccessFeedOptions) {
    this.#o = o;
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  /** Starts watching now (with `always`, the server does this at start-up). */
  start(): void {
    if (this.#controller === undefined) this.#start();
  }

  /** Calls `fn` with every notice until the returned function is called. */
  subscribe(fn: (n: AccessNotice) => void): () => void {
    this.#subscribers.add(fn);
    if (this.#controller === undefined) this.#start();
    return () => {
      this.#subscribers.delete(fn);
      if (this.#subscribers.size === 0 && this.#o.always !== true) this.#stop();
    };
  }

  #start(): void {
    const controller = new AbortController();
    this.#controller = controller;
    this.#running = (async () => {
      while (!controller.signal.aborted) {
        try {
          for await (const notice of watch({
            rpc: this.#o.rpc,
            deployment: this.#o.deployment,
            confirmations: this.#o.confirmations ?? 1,
            pollIntervalMs: this.#o.pollIntervalMs ?? 500,
            signal: controller.signal,
          })) {
            for (const fn of this.#subscribers) fn(notice);
          }
        } catch (err) {
          if (controller.signal.aborted) return;
          this.#o.onError?.(err);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    })();
  }

  #stop(): void {
    this.#controller?.abort();
    this.#controller = undefined;
  }

  /** Stops watching and waits for the watcher to end. */
  async close(): Promise<void> {
    this.#subscribers.clear();
    this.#stop();
    await this.#running;
  }
}
