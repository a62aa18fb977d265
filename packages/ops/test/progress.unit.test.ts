import { expect } from 'chai';
import { progressOn } from '../src/progress';

/** A stream, a clock and a ticker under the test's control: time passes only when the test says. */
function harness(isTTY: boolean, intervalMs = 1_000) {
  const writes: string[] = [];
  let clock = 0;
  let tick: (() => void) | undefined;
  let cancelled = false;
  const start = progressOn({
    out: { isTTY, write: (text: string) => writes.push(text) },
    intervalMs,
    now: () => clock,
    every: (_ms, fn) => {
      tick = fn;
      return () => {
        cancelled = true;
      };
    },
  });
  return {
    start,
    writes,
    /** Lets `ms` pass, with the ticker firing once at the end of it unless told not to. */
    pass(ms: number, ticking = true) {
      clock += ms;
      if (ticking) tick?.();
    },
    lines: () => writes.join('').split('\n').filter(Boolean),
    cancelled: () => cancelled,
  };
}

describe('ops: progress of long work', () => {
  describe('not on a terminal: plain lines', () => {
    it('writes a line at the start, at most one per interval as items finish, and one at the end', () => {
      const h = harness(false);
      const progress = h.start('dlq redrive', 100);
      expect(h.lines()).to.deep.equal(['dlq redrive: 0/100 (0%), 0 ms']);
      for (let done = 1; done <= 40; done++) {
        h.pass(20); // 40 items in 800 ms: within the first interval
        progress.advance(done);
      }
      expect(h.lines()).to.have.length(1);
      h.pass(200, false);
      progress.advance(41);
      expect(h.lines().at(-1)).to.equal('dlq redrive: 41/100 (41%), 1.0 s');
      progress.advance(100);
      progress.end();
      expect(h.lines()).to.deep.equal(['dlq redrive: 0/100 (0%), 0 ms', 'dlq redrive: 41/100 (41%), 1.0 s', 'dlq redrive: 100/100 (100%), 1.0 s']);
      expect(h.cancelled()).to.equal(true);
    });

    it('writes a line every interval while a step is stalled, with no item finishing', () => {
      const h = harness(false);
      const progress = h.start('dlq redrive', 10);
      progress.advance(3);
      h.pass(500);
      expect(h.lines()).to.have.length(1);
      h.pass(500);
      h.pass(1_000);
      expect(h.lines().slice(1)).to.deep.equal(['dlq redrive: 3/10 (30%), 1.0 s', 'dlq redrive: 3/10 (30%), 2.0 s']);
      progress.end();
    });

    it('with an interval of 0, writes a line for every item', () => {
      const h = harness(false, 0);
      const progress = h.start('dlq redrive', 3);
      for (let done = 1; done <= 3; done++) progress.advance(done);
      progress.end();
      expect(h.lines().map((line) => line.split(' ')[2])).to.deep.equal(['0/3', '1/3', '2/3', '3/3', '3/3']);
    });
  });

  describe('on a terminal: one bar redrawn in place', () => {
    it('redraws the bar on one line, at most every 100 ms, and ends it with a newline', () => {
      const h = harness(true);
      const progress = h.start('dlq redrive', 4);
      progress.advance(1); // within 100 ms of the last drawing: not redrawn
      h.pass(50);
      progress.advance(2);
      h.pass(50); // the ticker redraws: 100 ms since the last drawing
      progress.advance(4);
      progress.end();
      expect(h.writes).to.deep.equal([
        `\r\x1b[2Kdlq redrive [${'-'.repeat(30)}] 0/4 (0%), 0 ms`,
        `\r\x1b[2Kdlq redrive [${'#'.repeat(15)}${'-'.repeat(15)}] 2/4 (50%), 100 ms`,
        `\r\x1b[2Kdlq redrive [${'#'.repeat(30)}] 4/4 (100%), 100 ms`,
        '\n',
      ]);
      expect(h.cancelled()).to.equal(true);
    });
  });

  it('ends once, however often end is called', () => {
    const h = harness(false);
    const progress = h.start('x', 1);
    progress.end();
    progress.end();
    expect(h.lines()).to.have.length(2);
  });
});
