/**
 * The small part of DAG-PB and UnixFS the IPFS store needs: encoding a file node that links
 * chunks, and decoding any UnixFS file node to read it back.
 *
 * Written here (about a hundred lines of protobuf) instead of importing `@ipld/dag-pb` and
 * `ipfs-unixfs`, which are not dependencies of this project. The encoding follows the DAG-PB
 * spec's canonical form (links before data; in a link Hash, Name, Tsize), so Helia's own dag-pb
 * codec decodes it (its pinning walks these nodes) and any IPFS implementation can read the file.
 *
 * - PBNode  { 2: repeated PBLink Links; 1: optional bytes Data }
 * - PBLink  { 1: bytes Hash; 2: string Name; 3: uint64 Tsize }
 * - UnixFS Data { 1: Type (File = 2); 2: bytes Data; 3: uint64 filesize; 4: repeated uint64 blocksizes; … }
 *
 * @see https://ipld.io/specs/codecs/dag-pb/spec/
 * @see https://github.com/ipfs/specs/blob/main/UNIXFS.md
 * @internal
 */

/** UnixFS node types this module reads. */
export const UnixFsType = { Raw: 0, Directory: 1, File: 2, Metadata: 3, Symlink: 4, HAMTShard: 5 } as const;

/** A DAG-PB link. `hash` is the binary CID of the child. */
export interface PbLink {
  hash: Uint8Array;
  name?: string;
  tsize?: number;
}

/** A decoded DAG-PB node. */
export interface PbNode {
  links: PbLink[];
  data?: Uint8Array;
}

/** The UnixFS fields of a file node. */
export interface UnixFsData {
  type: number;
  data?: Uint8Array;
  filesize?: number;
  blocksizes: number[];
}

/** Thrown for bytes that are not valid protobuf of the expected shape. */
export class ProtobufError extends Error {
  override name = "ProtobufError";
}

// ---------------------------------------------------------------- encoding

class Writer {
  readonly #parts: number[] = [];
  readonly #chunks: Uint8Array[] = [];

  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new ProtobufError(`varint out of range: ${value}`);
    let v = value;
    while (v >= 0x80) {
      this.#parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#parts.push(v);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.#flush();
    this.#chunks.push(value);
    return this;
  }

  finish(): Uint8Array {
    this.#flush();
    const size = this.#chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const out = new Uint8Array(size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  #flush(): void {
    if (this.#parts.length > 0) this.#chunks.push(Uint8Array.from(this.#parts.splice(0)));
  }
}

/** Tag byte(s) for field `field` with wire type `wire` (0 varint, 2 length-delimited). */
const tag = (field: number, wire: 0 | 2): number => field * 8 + wire;

/** Encodes a DAG-PB node in canonical form. */
export function encodePbNode(node: PbNode): Uint8Array {
  const writer = new Writer();
  for (const link of node.links) {
    const inner = new Writer();
    inner.varint(tag(1, 2)).bytes(link.hash);
    if (link.name !== undefined) inner.varint(tag(2, 2)).bytes(new TextEncoder().encode(link.name));
    if (link.tsize !== undefined) inner.varint(tag(3, 0)).varint(link.tsize);
    writer.varint(tag(2, 2)).bytes(inner.finish());
  }
  if (node.data !== undefined) writer.varint(tag(1, 2)).bytes(node.data);
  return writer.finish();
}

/** Encodes the UnixFS `Data` of a file node whose content is entirely in its links. */
export function encodeUnixFsFile(filesize: number, blocksizes: readonly number[]): Uint8Array {
  const writer = new Writer();
  writer.varint(tag(1, 0)).varint(UnixFsType.File);
  writer.varint(tag(3, 0)).varint(filesize);
  for (const size of blocksizes) writer.varint(tag(4, 0)).varint(size);
  return writer.finish();
}

// ---------------------------------------------------------------- decoding

class Reader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get done(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  varint(): number {
    let value = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.#bytes[this.#pos++];
      if (byte === undefined) throw new ProtobufError("truncated varint");
      value += (byte & 0x7f) * factor;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new ProtobufError("varint exceeds 2^53");
        return value;
      }
      factor *= 0x80;
    }
    throw new ProtobufError("varint too long");
  }

  bytes(): Uint8Array {
    const length = this.varint();
    const end = this.#pos + length;
    if (end > this.#bytes.length) throw new ProtobufError("truncated field");
    const out = this.#bytes.subarray(this.#pos, end);
    this.#pos = end;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.#advance(8);
    else if (wire === 5) this.#advance(4);
    else throw new ProtobufError(`unsupported wire type ${wire}`);
  }

  #advance(count: number): void {
    if (this.#pos + count > this.#bytes.length) throw new ProtobufError("truncated field");
    this.#pos += count;
  }
}

/** Decodes a DAG-PB node (any valid one; field order is not enforced). */
export function decodePbNode(bytes: Uint8Array): PbNode {
  const reader = new Reader(bytes);
  const node: PbNode = { links: [] };
  while (!reader.done) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1 && wire === 2) node.data = reader.bytes();
    else if (field === 2 && wire === 2) node.links.push(decodePbLink(reader.bytes()));
    else throw new ProtobufError(`unexpected field ${field} (wire type ${wire}) in a dag-pb node`);
  }
  return node;
}

function decodePbLink(bytes: Uint8Array): PbLink {
  const reader = new Reader(bytes);
  let hash: Uint8Array | undefined;
  const link: Partial<PbLink> = {};
  while (!reader.done) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1 && wire === 2) hash = reader.bytes();
    else if (field === 2 && wire === 2) link.name = new TextDecoder("utf-8", { fatal: true }).decode(reader.bytes());
    else if (field === 3 && wire === 0) link.tsize = reader.varint();
    else throw new ProtobufError(`unexpected field ${field} (wire type ${wire}) in a dag-pb link`);
  }
  if (hash === undefined) throw new ProtobufError("dag-pb link without a Hash");
  return { ...link, hash };
}

/** Decodes UnixFS `Data`; unknown fields (mode, mtime, fanout, …) are skipped. */
export function decodeUnixFs(bytes: Uint8Array): UnixFsData {
  const reader = new Reader(bytes);
  const out: UnixFsData = { type: -1, blocksizes: [] };
  while (!reader.done) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1 && wire === 0) out.type = reader.varint();
    else if (field === 2 && wire === 2) out.data = reader.bytes();
    else if (field === 3 && wire === 0) out.filesize = reader.varint();
    else if (field === 4 && wire === 0) out.blocksizes.push(reader.varint());
    else if (field === 4 && wire === 2) {
      const packed = new Reader(reader.bytes());
      while (!packed.done) out.blocksizes.push(packed.varint());
    } else reader.skip(wire);
  }
  if (out.type === -1) throw new ProtobufError("UnixFS data without a Type");
  return out;
}
