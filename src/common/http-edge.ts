import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { FieldError, httpProblem, ProblemDocument } from './problem';

/** A caller's X-Request-Id is kept when it is this plain. */
const REQUEST_ID = /^[\w-]{1,100}$/;

/** The request id: the caller's X-Request-Id when it is a plain token, a fresh UUID otherwise. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Writes a whole problem+json answer on a socket no HTTP response object owns, then closes it. A client gone
 * before the answer (a reset) only ends the socket: node took its own error listener off a CONNECT's socket, and
 * an 'error' with no listener would end the process.
 */
function writeProblem(socket: Duplex, problem: ProblemDocument, headers: Record<string, string> = {}): void {
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  const body = JSON.stringify(problem);
  const lines = Object.entries({
    'Content-Type': 'application/problem+json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
    Connection: 'close',
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${lines.join('')}\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * Answers a request node's HTTP parser could not read, as problem+json, then closes the connection: no route,
 * hook or filter ever sees it. A reset connection gets nothing.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large.']
        : [400, 'The request is not valid HTTP.'];
  if (socket.writable) writeProblem(socket, httpProblem(status, detail));
  else socket.destroy(error);
}

/**
 * CONNECT asks for a tunnel, which node hands over as a bare socket (its 'connect' event) and, with no listener,
 * drops without a word. No path serves it here: 405, with the methods the API's routes do take.
 */
function refuseConnect(methods: Set<string>) {
  return (req: IncomingMessage, socket: Duplex): void => {
    writeProblem(socket, httpProblem(405, 'CONNECT is not served: this is an API, not a proxy.'), {
      Allow: [...methods].join(', '),
      'X-Request-Id': requestIdOf(req.headers),
    });
  };
}

/**
 * How many lines of the request name the header `name` (lower case), however each spells it: node joins or drops
 * the repeats of most headers, so only the raw lines tell that one was sent twice.
 */
export function headerLines(rawHeaders: string[], name: string): number {
  let lines = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name) lines += 1;
  }
  return lines;
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request holds exactly one Host line (HTTP/1.0 may leave it out). Node answered a
 * missing one with a bare 400 of its own (its requireHostHeader, turned off so that this answers instead) and
 * keeps the first of two, while a proxy in front may have routed by the other: both are refused, naming Host.
 */
export function hostProblem(request: IncomingMessage): FieldError | null {
  const seen = headerLines(request.rawHeaders, 'host');
  if (seen > 1) return { field: 'Host', message: 'must be sent once' };
  if (seen === 0 && request.httpVersionMajor === 1 && request.httpVersionMinor >= 1) {
    return { field: 'Host', message: 'is required in HTTP/1.1' };
  }
  return null;
}

/**
 * An Expect other than 100-continue, the only expectation HTTP defines (RFC 9110 §10.1.1): node emits
 * 'checkExpectation' for it and, with no listener, answers a bare 417.
 */
function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    ...httpProblem(417, 'The only expectation served is "Expect: 100-continue".'),
    errors: [{ field: 'Expect', message: 'must be 100-continue' }],
  });
  // The body the client may be holding back is not read: the connection closes after the answer.
  res.writeHead(417, {
    'Content-Type': 'application/problem+json',
    'Content-Length': Buffer.byteLength(body),
    'X-Request-Id': requestIdOf(req.headers),
    Connection: 'close',
  });
  res.end(body);
}

/**
 * What node's HTTP server would answer itself, before fastify sees a request, is answered here as problem+json
 * like the rest of the API. Call before the app's routes are registered: the methods they take are collected.
 */
export function installHttpEdge(fastify: FastifyInstance): void {
  const methods = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) methods.add(method);
  });
  fastify.server.on('connect', refuseConnect(methods));
  fastify.server.on('checkExpectation', refuseExpectation);
}
