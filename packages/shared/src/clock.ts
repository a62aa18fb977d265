/**
 * Where code that depends on time reads it: passed in as a dependency, so a test can hold time
 * still or move it on, instead of waiting for the real one.
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
