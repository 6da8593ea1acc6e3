/**
 * Stream plumbing shared by every store: input normalisation, verified output streams.
 *
 * @internal
 */
import { IntegrityError, InvalidInputError, MedLedgerError, StorageError } from "../../errors.js";
import type { BlobInput } from "../types.js";
import { bytesEqual, createSha256, toHex } from "./hash.js";

/** Size of the chunks a whole `Uint8Array` is cut into when it is streamed out. */
export const OUTPUT_CHUNK_SIZE = 256 * 1024;

/**
 * Validates `data` synchronously (so a bad argument rejects before any I/O) and returns its
 * chunks as one async iterable. Empty chunks are skipped. A failure of the caller's own stream
 * surfaces as `StorageError` whose `cause` is the original error; a chunk that is not a
 * `Uint8Array` as `InvalidInputError`.
 */
export function inputChunks(data: BlobInput): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) return singleChunk(data);
  if (isReadableStream(data)) return guard(readStream(data));
  if (isAsyncIterable(data)) return guard(data);
  throw new InvalidInputError("Blob input must be a Uint8Array, a ReadableStream or an AsyncIterable of Uint8Array", {
    details: `got ${describeValue(data)}`,
  });
}

async function* singleChunk(data: Uint8Array): AsyncGenerator<Uint8Array> {
  if (data.length > 0) yield data;
}

async function* guard(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (let index = 0; ; index++) {
      let result: IteratorResult<Uint8Array>;
      try {
        result = await iterator.next();
      } catch (cause) {
        done = true; // a throwing iterator is finished; do not call return() on it
        throw new StorageError("Reading the input stream failed", { cause });
      }
      if (result.done === true) {
        done = true;
        return;
      }
      const chunk: unknown = result.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new InvalidInputError("Blob input stream yielded a chunk that is not a Uint8Array", {
          details: `chunk ${index} is ${describeValue(chunk)}`,
        });
      }
      if (chunk.length > 0) yield chunk;
    }
  } finally {
    // Stopped early (consumer gave up, bad chunk): let the source release its resources.
    if (!done) {
      try {
        await iterator.return?.();
      } catch {
        // the source failed while closing; the put already failed for another reason
      }
    }
  }
}

export async function* readStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

export function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof value === "object" && value !== null && typeof (value as ReadableStream).getReader === "function";
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function"
  );
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1); // "Object", "Array", "Uint16Array"…
}

/**
 * Yields copies of consecutive slices of `bytes`, so callers cannot mutate the source. Copies
 * with `new Uint8Array(view)`: a Buffer's `slice()` would return a view.
 */

export async function* sliceChunks(bytes: Uint8Array, size = OUTPUT_CHUNK_SIZE): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield new Uint8Array(bytes.subarray(offset, offset + size));
  }
}

/**
 * Passes `chunks` through while hashing them and checks the SHA-256 against `digest` at the end.
 * The last chunk is held back until the check passed, so a corrupted object never streams out
 * complete: the iteration throws `IntegrityError` instead. Errors of the source that are not
 * already SDK errors become `StorageError`.
 */
export async function* verifySha256(
  chunks: AsyncIterable<Uint8Array>,
  digest: Uint8Array,
  address: string,
): AsyncGenerator<Uint8Array> {
  const hash = createSha256();
  let pending: Uint8Array | undefined;
  let size = 0;
  try {
    for await (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) {
        throw new StorageError("Storage backend returned a chunk that is not a Uint8Array", { details: address });
      }
      if (chunk.length === 0) continue;
      hash.update(chunk);
      size += chunk.length;
      if (pending !== undefined) yield pending;
      pending = chunk;
    }
  } catch (cause) {
    if (cause instanceof MedLedgerError) throw cause;
    throw new StorageError("Reading a stored object failed", { details: address, cause });
  }
  const actual = hash.digest();
  if (!bytesEqual(actual, digest)) {
    throw new IntegrityError("Stored object does not match its address", {
      details: `${address}: ${size} bytes read hash to sha256:${toHex(actual)}`,
    });
  }
  if (pending !== undefined) yield pending;
}

/**
 * A pull-based `ReadableStream` over an async iterable: reads happen only when the consumer
 * asks, and cancelling the stream calls the iterator's `return()` and then `onCancel`, so files
 * and handles close even if the iteration never started.
 */
export function iterableToStream(
  source: AsyncIterable<Uint8Array>,
  onCancel?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const result = await iterator.next();
            if (result.done === true) {
              controller.close();
              return;
            }
            if (result.value.length === 0) continue;
            controller.enqueue(result.value);
            return;
          }
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        try {
          await iterator.return?.();
        } finally {
          // A generator that never started ignores return(); release what it would have closed.
          await onCancel?.();
        }
      },
    },
    { highWaterMark: 0 },
  );
}

/** Concatenates `chunks` into one array. */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
  }
  return concat(parts, size);
}

/** Concatenates `parts` (of total length `size`, computed if omitted) into a new array. */
export function concat(parts: readonly Uint8Array[], size?: number): Uint8Array {
  const total = size ?? parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Releases a source that may never have been iterated: cancels a `ReadableStream` that is not
 * locked, calls `return()` on an async iterator. Errors are ignored (this runs on cancel).
 */
export async function releaseSource(source: unknown): Promise<void> {
  try {
    if (isReadableStream(source)) {
      if (!source.locked) await source.cancel();
    } else if (isAsyncIterable(source)) {
      await source[Symbol.asyncIterator]().return?.();
    }
  } catch {
    // already released or failed: nothing more to free
  }
}
