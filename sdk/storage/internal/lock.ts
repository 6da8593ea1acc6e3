/**
 * Tiny in-process locks.
 *
 * @internal
 */

/** Runs tasks one at a time per key; tasks on different keys run concurrently. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    try {
      await previous;
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * A readers-writer lock: any number of shared holders, or one exclusive holder. Writers are
 * preferred (a waiting writer blocks new readers) so a delete is not starved by a stream of puts.
 */
export class ReadWriteLock {
  #readers = 0;
  #writer = false;
  #waitingWriters = 0;
  readonly #queue: Array<() => void> = [];

  async shared<T>(task: () => Promise<T>): Promise<T> {
    while (this.#writer || this.#waitingWriters > 0) await this.#wait();
    this.#readers++;
    try {
      return await task();
    } finally {
      this.#readers--;
      this.#wake();
    }
  }

  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.#waitingWriters++;
    try {
      while (this.#writer || this.#readers > 0) await this.#wait();
    } finally {
      this.#waitingWriters--;
    }
    this.#writer = true;
    try {
      return await task();
    } finally {
      this.#writer = false;
      this.#wake();
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #wake(): void {
    for (const resolve of this.#queue.splice(0)) resolve();
  }
}
