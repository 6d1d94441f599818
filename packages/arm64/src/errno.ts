/** errno numbers as the Linux kernel defines them for arm64 (asm-generic/errno-base.h, errno.h). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const BY_NUMBER = new Map<number, ErrnoName>(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));

/** The kernel's return value for a failure: `-errno`, e.g. `fail('EINVAL')` is -22. */
export function fail(name: ErrnoName): number {
  return -ERRNO[name];
}

/** The errno name of a negative kernel return value; undefined for 0, positives and unknown numbers. */
export function errnoName(ret: number | bigint): ErrnoName | undefined {
  const n = Number(ret);
  return n < 0 ? BY_NUMBER.get(-n) : undefined;
}
