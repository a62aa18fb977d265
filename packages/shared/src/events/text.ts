import * as v from 'valibot';

/** Text Postgres can store and people can read: no NUL or other control characters but newlines and tabs. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const PrintableText = v.regex(/^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/u, 'must not contain control characters');

/**
 * A lone UTF-16 surrogate (JSON allows "\ud800") cannot be encoded as UTF-8: the driver would
 * store U+FFFD while the original kept the escape, so the stored text and its source would disagree.
 */
export const WellFormedText = v.check((text: string) => !/\p{Cs}/u.test(text), 'must be valid Unicode text');

/** A string of 1 to `maxLength` characters that is stored as it came: printable and well formed. */
export function storedText(maxLength: number, minLength = 1) {
  return v.pipe(
    v.string('must be a string'),
    v.minLength(minLength, `must have at least ${minLength} characters`),
    v.maxLength(maxLength, `must be at most ${maxLength} characters`),
    PrintableText,
    WellFormedText,
  );
}
