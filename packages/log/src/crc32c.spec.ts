import { crc32c } from './crc32c';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c (Castagnoli, reflected 0x82F63B78)', () => {
  it('gives the standard check value for "123456789": 0xE3069283', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  // RFC 3720 (iSCSI) appendix B.4 test vectors, 32 bytes each.
  it('matches RFC 3720 B.4: 32 zero bytes -> 0x8A9136AA', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
  it('matches RFC 3720 B.4: 32 bytes of 0xFF -> 0x62A8AB43', () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  it('matches RFC 3720 B.4: bytes 0x00..0x1F ascending -> 0x46DD794E', () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });
  it('matches RFC 3720 B.4: bytes 0x1F..0x00 descending -> 0x113FDB5C', () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('is 0 for empty input', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('checksums a sub-range and continues across pieces (every split of the check string)', () => {
    const padded = ascii('xx123456789yyy');
    expect(crc32c(padded, 2, 11)).toBe(0xe3069283);
    const s = ascii('123456789');
    for (let cut = 0; cut <= s.length; cut++) {
      expect(crc32c(s, cut, s.length, crc32c(s, 0, cut))).toBe(0xe3069283);
    }
  });
});
