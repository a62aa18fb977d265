import { systemClock, type Clock } from './clock';

/**
 * A gate that lets each key through at most once per `everyMs`: for a warning that would
 * otherwise be logged at the rate of the failures behind it (a Redis that is down fails every
 * request). The first call for a key always passes.
 */
export function createThrottle(everyMs: number, clock: Clock = systemClock): (key?: string) => boolean {
  const passedAt = new Map<string, number>();
  return (key = '') => {
    const now = clock.now();
    const last = passedAt.get(key);
    if (last !== undefined && now - last < everyMs) return false;
    passedAt.set(key, now);
    return true;
  };
}
