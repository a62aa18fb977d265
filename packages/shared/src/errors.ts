/** One invalid field of a request, as reported in a 422 problem. */
export interface InvalidParam {
  name: string;
  reason: string;
}

/** The path segment of a problem type: its title in lower case, words joined by hyphens ("Bad Request" → "bad-request"). */
export const problemSlug = (title: string): string => title.toLowerCase().replaceAll(' ', '-');

/** The `type` of the problems with this title: `/problems/<slug>`. */
export const problemTypeUri = (title: string): string => `/problems/${problemSlug(title)}`;

/**
 * An error that maps to an RFC 9457 problem. Use cases throw these; one middleware turns them
 * into `application/problem+json`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }

  /**
   * The kind of problem, named for its title: a URI reference relative to the API that answered,
   * where GET /problems/<slug> documents it (RFC 9457 resolves it against the request URL).
   */
  get type(): string {
    return problemTypeUri(this.title);
  }
}

export class BadRequest extends AppError {
  constructor(detail: string) {
    super(400, 'Bad Request', detail);
  }
}

export class NotFound extends AppError {
  constructor(resource: string, id: string) {
    super(404, 'Not Found', `No ${resource} with id ${id}.`);
  }
}

export class Conflict extends AppError {
  constructor(detail: string) {
    super(409, 'Conflict', detail);
  }
}

export class PayloadTooLarge extends AppError {
  constructor(limit: string) {
    super(413, 'Payload Too Large', `The request body is larger than ${limit}.`);
  }
}

export class UnsupportedMediaType extends AppError {
  constructor() {
    super(415, 'Unsupported Media Type', 'The request body must be application/json.');
  }
}

export class ValidationFailed extends AppError {
  constructor(detail: string, invalidParams: InvalidParam[]) {
    super(422, 'Unprocessable Content', detail, { invalid_params: invalidParams });
  }
}

export class TooManyRequests extends AppError {
  constructor(retryAfterSeconds: number) {
    super(429, 'Too Many Requests', `Rate limit exceeded; retry in ${retryAfterSeconds} s.`);
  }
}

export class ServiceUnavailable extends AppError {
  constructor(dependency: string) {
    super(503, 'Service Unavailable', `A dependency (${dependency}) is unavailable; retry later.`);
  }
}

/** Node and pg error codes that mean "Postgres is unreachable or went away", not "bad query". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '53300', // too_many_connections
  '08000', '08003', '08006', '08001', '08004', // connection exceptions
]);

/** True when an error from pg means the database is down or unreachable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Query read timeout/i.test(
    error.message,
  );
}
