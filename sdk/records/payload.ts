/**
 * What is sealed inside a record's envelope. Two layouts:
 * - `uint16 BE length of the media type ‖ media type (UTF-8) ‖ content` (records written before
 *   the label opening was sealed inside);
 * - `0xFFFF ‖ uint8 label mask ‖ bytes32 label salt ‖` the layout above: the opening of the
 *   record's label commitment travels sealed with the content (a media type is at most 255 bytes,
 *   so the marker is unambiguous).
 *
 * The media type and the label opening travel sealed, so the chain never sees them. A reader who
 * may open the content learns its labels (the custodian keyholder released the key because the
 * reader's permit allows them); a re-key needs them to commit the successor to the same labels.
 *
 * @internal
 */
import { IntegrityError } from "../errors.js";
import type { Hex } from "../types.js";
import { fromUtf8, parseHex, toHex, utf8 } from "../util.js";
import { mediaType as checkMediaType } from "../validate.js";

const LABELLED = 0xffff;
const SALT_BYTES = 32;

/** The label mask and salt of a record's label commitment (subject and record id are the record's). */
export interface SealedLabels {
  labels: number;
  salt: Hex;
}

/** Frames content with its media type (and the label opening, when given) for sealing. */
export function frame(mediaType: string, content: Uint8Array, labels?: SealedLabels): Uint8Array {
  const type = utf8(checkMediaType(mediaType));
  const head = labels === undefined ? 0 : 3 + SALT_BYTES;
  const out = new Uint8Array(head + 2 + type.length + content.length);
  const view = new DataView(out.buffer);
  if (labels !== undefined) {
    const salt = parseHex(labels.salt);
    if (salt?.length !== SALT_BYTES || !Number.isInteger(labels.labels) || labels.labels < 0 || labels.labels > 0xff)
      throw new IntegrityError("A label opening needs a mask (0..255) and a 32-byte salt");
    view.setUint16(0, LABELLED);
    out[2] = labels.labels;
    out.set(salt, 3);
  }
  view.setUint16(head, type.length);
  out.set(type, head + 2);
  out.set(content, head + 2 + type.length);
  return out;
}

/** Splits an opened payload into media type, content and (if sealed with it) the label opening. */
export function unframe(payload: Uint8Array): { mediaType: string; content: Uint8Array; labels?: SealedLabels } {
  if (payload.length < 2) throw new IntegrityError("Sealed payload is too short");
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let labels: SealedLabels | undefined;
  let at = 0;
  if (view.getUint16(0) === LABELLED) {
    if (payload.length < 3 + SALT_BYTES + 2) throw new IntegrityError("Sealed payload is truncated");
    labels = { labels: payload[2]!, salt: toHex(payload.subarray(3, 3 + SALT_BYTES)) };
    at = 3 + SALT_BYTES;
  }
  const len = view.getUint16(at);
  if (payload.length < at + 2 + len) throw new IntegrityError("Sealed payload is truncated");
  const mediaType = fromUtf8(payload.subarray(at + 2, at + 2 + len));
  const content = payload.subarray(at + 2 + len);
  return labels === undefined ? { mediaType, content } : { mediaType, content, labels };
}
