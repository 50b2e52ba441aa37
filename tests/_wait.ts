// Waiting helpers shared by the socket tests: nothing awaited on the network may hang a test.

/** How long a test waits for anything on the network before it fails, ms. */
export const TIMEOUT = 3000;

/** Resolves with `promise`, or rejects after `ms` naming what was awaited. */
export async function within<T>(promise: Promise<T>, what: string, ms = TIMEOUT): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds, checking every 5 ms, for at most `ms`. */
export async function until(condition: () => boolean, what: string, ms = TIMEOUT): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}
