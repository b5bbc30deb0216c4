/** Byte sequences that are not UTF-8, for tests that check a text field refuses them. */

/**
 * One of each way UTF-8 goes wrong: a byte that never occurs (0xff, 0xfe), a lead byte with a bad
 * continuation, a lone continuation byte, an overlong encoding, a UTF-16 surrogate, a five-byte
 * form, and a truncated sequence.
 */
export const invalidUtf8Sequences: readonly (readonly number[])[] = Object.freeze([
  [0xff],
  [0xc3, 0x28],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xfe, 0xfe, 0xff, 0xff],
]);
