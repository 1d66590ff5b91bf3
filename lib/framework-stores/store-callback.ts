/**
 * Hands a promise's outcome to a framework's callback on the next tick, so an error is
 * always passed, never thrown, and an exception thrown by the callback itself never
 * turns into an unhandled rejection of the store's promise.
 */
export function settle<T>(promise: Promise<T>, callback: ((err: unknown, value?: T) => void) | undefined): void {
  promise.then(
    (value) => {
      if (callback) process.nextTick(callback, null, value);
    },
    (err: unknown) => {
      if (callback) process.nextTick(callback, err);
    },
  );
}

/** Runs `fn` and turns a synchronous throw into a rejected promise. */
export function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}
