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

/** The error of `kind` that `f` throws; any other error is rethrown, and returning is a failure too. */
export function thrownError<E extends Error>(f: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    if (e instanceof kind) return e;
    throw e;
  }
  throw new Error(`expected a ${kind.name}`);
}
