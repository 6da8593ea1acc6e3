/**
 * What is sealed inside a record's envelope: `uint16 BE length of the media type ‖ media type
 * (UTF-8) ‖ content`. The media type travels sealed, so the chain never sees it.
 *
 * @internal
 */
import { IntegrityError } from "../errors.js";
import { fromUtf8, utf8 } from "../util.js";
import { mediaType as checkMediaType } from "../validate.js";

/** Frames content with its media type for sealing. */
export function frame(mediaType: string, content: Uint8Array): Uint8Array {
  const type = utf8(checkMediaType(mediaType));
  const out = new Uint8Array(2 + type.length + content.length);
  new DataView(out.buffer).setUint16(0, type.length);
  out.set(type, 2);
  out.set(content, 2 + type.length);
  return out;
}

/** Splits an opened payload into media type and content. */
export function unframe(payload: Uint8Array): { mediaType: string; content: Uint8Array } {
  if (payload.length < 2) throw new IntegrityError("Sealed payload is too short");
  const len = new DataView(payload.buffer, payload.byteOffset).getUint16(0);
  if (payload.length < 2 + len) throw new IntegrityError("Sealed payload is truncated");
  return { mediaType: fromUtf8(payload.subarray(2, 2 + len)), content: payload.subarray(2 + len) };
}
