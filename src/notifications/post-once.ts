import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface PostOnce {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Resolves the host name for the connection itself; see publicOnlyLookup. */
  lookup?: LookupFunction;
}

/**
 * One POST, no redirects followed, no connection kept: answers the status code as soon as the headers arrive
 * and drops the body unread. Fails with an AbortError past `timeoutMs` (connect, send and headers together).
 */
export function postOnce(url: string, options: PostOnce): Promise<number> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': Buffer.byteLength(options.body) },
        lookup: options.lookup,
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}
