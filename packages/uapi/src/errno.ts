import { errnoName, type ErrnoName } from '@mteperm/arm64';

// The errno table is an architecture-level fact kept in @mteperm/arm64; the uapi speaks it.
export { ERRNO, errnoName, fail } from '@mteperm/arm64';
export type { ErrnoName } from '@mteperm/arm64';

/** `{ ret }`, plus `errno` when `ret < 0` (CONTRACT §3). */
export interface IoctlResult {
  readonly ret: number;
  readonly errno?: ErrnoName;
}

export function ioctlResult(ret: number): IoctlResult {
  const errno = errnoName(ret);
  return errno === undefined ? { ret } : { ret, errno };
}
