// Linux errno numbers used on the fault path (KVM_RUN returns -errno).
export const EINVAL = 22;
export const EFAULT = 14;
export const ENOSYS = 38;
export const ENOEXEC = 8;

