import { expect } from 'chai';
import fc from 'fast-check';
import * as v from 'valibot';
import { MAX_CENTS, MoneyAmount, formatCents, moneyToNumber, toCents } from '../src/money';

describe('money: exact arithmetic on integer cents', () => {
  it('parses numeric(12,2) text into cents', () => {
    expect(toCents('24.90')).to.equal(2490n);
    expect(toCents('24.9')).to.equal(2490n);
    expect(toCents('0.10')).to.equal(10n);
    expect(toCents('0')).to.equal(0n);
    expect(toCents('-1.05')).to.equal(-105n);
    expect(toCents('9999999999.99')).to.equal(MAX_CENTS);
  });

  it('refuses anything that is not a 2-decimal amount', () => {
    for (const text of ['', '1.234', 'abc', '1e3', '.5', '1.', ' 1.00', '1,00', 'NaN', '+1']) {
      expect(() => toCents(text), JSON.stringify(text)).to.throw(RangeError);
    }
  });

  it('formats cents with exactly 2 decimals', () => {
    expect(formatCents(7500n)).to.equal('75.00');
    expect(formatCents(5n)).to.equal('0.05');
    expect(formatCents(0n)).to.equal('0.00');
    expect(formatCents(-105n)).to.equal('-1.05');
    expect(formatCents(MAX_CENTS)).to.equal('9999999999.99');
  });

  it('adds without the drift of binary floating point: 3 × 0.10 + 3 × 24.90 = 75.00', () => {
    expect(3 * 0.1 + 3 * 24.9).not.to.equal(75);
    expect(formatCents(toCents('0.10') * 3n + toCents('24.90') * 3n)).to.equal('75.00');
    expect(formatCents(toCents('0.10') + toCents('0.20'))).to.equal('0.30');
  });

  it('round-trips every amount numeric(12,2) holds, as text and as a JSON number', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -MAX_CENTS, max: MAX_CENTS }), (cents) => {
        const text = formatCents(cents);
        expect(text).to.match(/^-?\d+\.\d{2}$/);
        expect(toCents(text)).to.equal(cents);
        // The JSON number parses back to the same decimal: no value of 14 digits loses a cent.
        expect(toCents(moneyToNumber(text).toFixed(2))).to.equal(cents);
      }),
      { numRuns: 1_000 },
    );
  });

  it('sums any list of amounts exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 50 }), (amounts) => {
        const total = amounts.reduce((sum, cents) => sum + toCents(formatCents(BigInt(cents))), 0n);
        expect(total).to.equal(BigInt(amounts.reduce((sum, cents) => sum + cents, 0)));
      }),
    );
  });

  it('MoneyAmount takes every numeric(12,2) amount as a JSON number, and refuses more than 2 decimals, negatives and NaN', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_CENTS }), (cents) => {
        const amount = JSON.parse(moneyToNumber(formatCents(cents)).toString()) as number;
        expect(v.is(MoneyAmount, amount), String(amount)).to.equal(true);
      }),
      { numRuns: 1_000 },
    );
    for (const amount of [0.07, 0.3, 24.9, 149, 0]) expect(v.is(MoneyAmount, amount), String(amount)).to.equal(true);
    for (const amount of [12.345, 0.001, -1, Number.NaN, 0.1 + 0.2, 1e13]) expect(v.is(MoneyAmount, amount), String(amount)).to.equal(false);
  });
});
