import * as v from 'valibot';

/**
 * Exact money arithmetic on integer cents. Postgres numeric(12,2) values arrive as strings;
 * parsing them into binary floats and adding would drift, so they are summed as bigint cents.
 */
const MONEY = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** The largest amount numeric(12,2) holds, in cents. */
export const MAX_CENTS = 999_999_999_999n;

/** Parses "12.5" or "12.50" into 1250n cents. */
export function toCents(amount: string): bigint {
  const match = MONEY.exec(amount);
  if (!match) throw new RangeError(`not a money amount: ${amount}`);
  const [, sign, whole, fraction = ''] = match;
  const cents = BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'));
  return sign ? -cents : cents;
}

/** Formats cents as a decimal string with 2 places: 1250n → "12.50". */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** A decimal string as a JSON number. Exact for any numeric(12,2) value, which has ≤ 14 digits. */
export const moneyToNumber = (amount: string): number => Number(amount);

/**
 * The currency of every amount: the catalog has one, and no amount on the wire names it, so it
 * is stated here and in the documents built from this module (the OpenAPI document, the README).
 */
export const CURRENCY = 'USD';

/** True when a JSON number has at most 2 decimals (is the double nearest to a whole number of cents). */
export const hasAtMostTwoDecimals = (amount: number): boolean => Math.round(amount * 100) / 100 === amount;

/**
 * A money amount on the wire: a JSON number with at most 2 decimals, in CURRENCY, within what
 * numeric(12,2) holds. The 2-decimal rule is a check, not JSON Schema's `multipleOf: 0.01`, which
 * float division makes validators refuse for amounts such as 0.07.
 */
export const MoneyAmount = v.pipe(
  v.number(),
  v.minValue(0),
  v.maxValue(Number(formatCents(MAX_CENTS))),
  v.check(hasAtMostTwoDecimals, 'must have at most 2 decimals'),
  v.description(`An amount of money in ${CURRENCY}: a JSON number with at most 2 decimals (24.9 is ${CURRENCY} 24.90).`),
);
