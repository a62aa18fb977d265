/** No request body may be larger than this (the contract's 1 MiB); the api's JSON parser has the same limit. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
export const BODY_LIMIT_TEXT = '1 MiB';
