/**
 * The floor's messages as bytes, for the raw client (no protobuf library: the point of the floor
 * is to cost nothing beyond HTTP/2 and gRPC framing). All are google.protobuf.BytesValue.
 */

/** What every chunk of the server's stream holds, and the chunk as encoded on the wire. */
export const floorChunkValue = Buffer.from('{"index":0}');
export const floorChunk = encodeBytesValue(floorChunkValue);

/** BytesValue{value} in protobuf binary: field 1, length-delimited. */
export function encodeBytesValue(value) {
  const length = [];
  let remaining = value.byteLength;
  do {
    length.push((remaining & 0x7f) | (remaining > 0x7f ? 0x80 : 0));
    remaining >>>= 7;
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([0x0a, ...length]), value]);
}
