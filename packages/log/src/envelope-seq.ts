/**
 * Reads `seq` (field 1, varint) from Envelope bytes without decoding the event, walking the
 * top-level fields only. Returns the seq (0 when absent, as protobuf defaults it), or -1 when the
 * bytes are not well-formed protobuf at the top level. The last occurrence wins, as in a decoder.
 * Values above 2^53 lose precision, which is harmless: the reader only compares against a dense
 * counter that never gets there.
 */
export function envelopeSeq(b: Uint8Array, start: number, end: number): number {
  let seq = 0;
  let i = start;
  while (i < end) {
    // Tag varint (field numbers fit in 29 bits: at most 5 bytes).
    let tag = 0;
    let mul = 1;
    for (let k = 0; ; k++) {
      if (i >= end || k === 5) return -1;
      const x = b[i++]!;
      tag += (x & 0x7f) * mul;
      if (x < 0x80) break;
      mul *= 128;
    }
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) return -1;
    switch (wireType) {
      case 0: {
        let v = 0;
        mul = 1;
        for (let k = 0; ; k++) {
          if (i >= end || k === 10) return -1;
          const x = b[i++]!;
          v += (x & 0x7f) * mul;
          if (x < 0x80) break;
          mul *= 128;
        }
        if (field === 1) seq = v;
        break;
      }
      case 1:
        i += 8;
        break;
      case 2: {
        let len = 0;
        mul = 1;
        for (let k = 0; ; k++) {
          if (i >= end || k === 5) return -1;
          const x = b[i++]!;
          len += (x & 0x7f) * mul;
          if (x < 0x80) break;
          mul *= 128;
        }
        i += len;
        break;
      }
      case 5:
        i += 4;
        break;
      default:
        return -1; // groups (3, 4) and reserved wire types never appear in an Envelope
    }
    if (field === 1 && wireType !== 0) return -1;
  }
  return i === end ? seq : -1;
}
