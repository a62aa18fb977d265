import http, { type IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else is sent as JSON (with its content type). */
  body?: unknown;
  /** Source address of the connection, e.g. `127.0.0.23`: a client IP of the test's own. */
  localAddress?: string;
  /** Fails the request when no complete response arrived in time (default 10 s). */
  timeoutMs?: number;
}

/**
 * One HTTP request on a fresh connection (no keep-alive, so servers close promptly), with a
 * deadline. Unlike fetch it can choose the source address and send any bytes as the body.
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const { method = 'GET', localAddress, timeoutMs = 10_000 } = options;
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined;
  if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, localAddress, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    const timer = setTimeout(() => {
      request.destroy(new Error(`${method} ${url} got no response within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}
