import type { Clock } from '@order-service/shared';

/**
 * When the relay loop should look for work again: at once after a hint (a NOTIFY, a reconnect, a
 * finished batch), at a known time (a retry coming due), or at the latest after the poll
 * interval. Hints only set a flag, so a burst of them costs one look, not one each, and a hint
 * that arrives while the loop is busy is not lost: its next sleep returns at once.
 */
export function createWakeup(clock: Clock) {
  let requested = true;
  let closed = false;
  let interrupt: (() => void) | undefined;
  let timed: { at: number; timer: NodeJS.Timeout } | undefined;
  const pauses = new Set<() => void>();

  const wake = () => {
    requested = true;
    interrupt?.();
  };

  return {
    wake,
    /** Forget earlier hints; call right before looking, so hints arriving during the look count. */
    clear() {
      requested = false;
    },
    /** Waits up to `ms`, or returns at once when a hint came since the last `clear()`. */
    sleep(ms: number): Promise<void> {
      return new Promise<void>((resolve) => {
        if (requested || closed) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          interrupt = undefined;
          resolve();
        }
        interrupt = done;
      });
    },
    /**
     * Waits `ms` whatever hints arrive (they still count for the next `sleep`); only `close()` ends
     * it early. For letting rows gather while the loop is busy: there, a hint per commit would
     * otherwise turn every few rows into a claim of their own.
     */
    pause(ms: number): Promise<void> {
      return new Promise<void>((resolve) => {
        if (closed) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          pauses.delete(done);
          resolve();
        }
        pauses.add(done);
      });
    },
    /** Wakes the loop in `ms`, unless an earlier timed wake-up is already set. */
    wakeAfter(ms: number) {
      const at = clock.now() + ms;
      if (closed || (timed && timed.at <= at)) return;
      clearTimeout(timed?.timer);
      timed = {
        at,
        timer: setTimeout(() => {
          timed = undefined;
          wake();
        }, ms),
      };
    },
    /** Ends every sleep now and for good. */
    close() {
      closed = true;
      clearTimeout(timed?.timer);
      interrupt?.();
      for (const done of [...pauses]) done();
    },
  };
}

export type Wakeup = ReturnType<typeof createWakeup>;
