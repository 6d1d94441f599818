/**
 * What `f` throws, for asserting on an error's code and message together: `CODE: message` for an
 * error of `kind`, `other: message` for any other error, undefined when `f` returns.
 */
export function thrownCode(f: () => unknown, kind: abstract new (...args: never[]) => Error & { readonly code: string }): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof kind ? `${e.code}: ${e.message}` : `other: ${(e as Error).message}`;
  }
  return undefined;
}
