import { ERRNO, errnoName, fail, ioctlResult } from './errno';

describe('errno', () => {
  it.each([
    ['EPERM', 1],
    ['ENXIO', 6],
    ['EBADF', 9],
    ['EFAULT', 14],
    ['EBUSY', 16],
    ['EEXIST', 17],
    ['EINVAL', 22],
    ['ERANGE', 34],
    ['EHWPOISON', 133],
  ] as const)('%s is %d as in the kernel (DOMAIN B §3.1, §5.1)', (name, n) => {
    expect(ERRNO[name]).toBe(n);
    expect(fail(name)).toBe(-n);
    expect(errnoName(-n)).toBe(name);
  });

  it('names a negative bigint return and nothing for 0 or positives (CONTRACT §3)', () => {
    expect(errnoName(-14n)).toBe('EFAULT');
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(4096)).toBeUndefined();
  });

  it('carries errno only when ret < 0 (CONTRACT §3)', () => {
    expect(ioctlResult(-22)).toEqual({ ret: -22, errno: 'EINVAL' });
    expect(ioctlResult(0)).toEqual({ ret: 0 });
  });
});
