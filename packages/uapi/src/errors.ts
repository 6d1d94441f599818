/** Stable string codes of the uapi package; the CLI maps codes to exit statuses in one place. */
export type UapiErrorCode =
  | 'MTEPERM_UAPI_KERNEL' // a kernel profile other than baseline | v1 | v2 | drop-check (DOMAIN A.1)
  | 'MTEPERM_UAPI_CAP' // a capability name the model does not know
  | 'MTEPERM_UAPI_BACKING' // an unknown memory backing, or none where one is needed (CONTRACT §1.2)
  | 'MTEPERM_UAPI_ARG' // an ioctl argument out of its C type's range
  | 'MTEPERM_UAPI_NO_VM' // a VM ioctl before create_vm succeeded (no VM fd to call it on)
  | 'MTEPERM_UAPI_NO_BUS' // an ioctl on an adapter built without a bus: it only folds a recorded log
  | 'MTEPERM_UAPI_NO_HOST'; // an ioctl before HostCpusProbed was seen

export class UapiError extends Error {
  override readonly name = 'UapiError';
  constructor(
    readonly code: UapiErrorCode,
    message: string,
  ) {
    super(message);
  }
}
