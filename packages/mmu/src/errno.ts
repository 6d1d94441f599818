// Linux errno numbers used on the fault path (KVM_RUN returns -errno).
export const EINVAL = 22;
export const EFAULT = 14;
export const ENOSYS = 38;
export const ENOEXEC = 8;

export const ERRNO_NAMES: Readonly<Record<number, string>> = { 22: 'EINVAL', 14: 'EFAULT', 38: 'ENOSYS', 8: 'ENOEXEC' };
