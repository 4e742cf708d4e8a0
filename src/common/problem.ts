import { HttpException, HttpStatus } from '@nestjs/common';

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, as the contract shapes them. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function titleFor(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** The problem document of a plain HTTP status: no slug of our own, the status's title, and what went wrong. */
export function httpProblem(status: number, detail: string): ProblemDocument {
  return {
    type: `https://payout-router.dev/problems/http-${status}`,
    title: titleFor(status),
    status,
    detail,
  };
}

/** An error that already knows the problem document it answers with. */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly slug: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail, status);
  }

  toProblem(): ProblemDocument {
    const problem: ProblemDocument = {
      type: `https://payout-router.dev/problems/${this.slug}`,
      title: titleFor(this.getStatus()),
      status: this.getStatus(),
      detail: this.message,
    };
    if (this.errors) problem.errors = this.errors;
    return problem;
  }
}

export const BEARER_CHALLENGE = 'Bearer realm="payout-router"';
export const INVALID_TOKEN_CHALLENGE = `${BEARER_CHALLENGE}, error="invalid_token"`;

export const Problems = {
  validation: (errors: FieldError[], detail = 'The request has invalid fields.') =>
    new ProblemException(HttpStatus.BAD_REQUEST, 'validation-error', detail, errors),
  unprocessable: (errors: FieldError[], detail: string) =>
    new ProblemException(HttpStatus.UNPROCESSABLE_ENTITY, 'unprocessable', detail, errors),
  notFound: (what: string) =>
    new ProblemException(HttpStatus.NOT_FOUND, 'not-found', `${what} was not found.`),
  conflict: (detail: string, errors?: FieldError[]) =>
    new ProblemException(HttpStatus.CONFLICT, 'conflict', detail, errors),
  /**
   * 401 with the challenge RFC 9110 asks of it (`WWW-Authenticate`): `Bearer` for a missing credential, with
   * `error="invalid_token"` for one that was sent and refused (RFC 6750); null where no HTTP scheme applies
   * (a platform's webhook signature).
   */
  unauthorized: (detail: string, challenge: string | null = BEARER_CHALLENGE) =>
    new ProblemException(
      HttpStatus.UNAUTHORIZED,
      'unauthorized',
      detail,
      undefined,
      challenge ? { 'WWW-Authenticate': challenge } : {},
    ),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ProblemException(
      HttpStatus.TOO_MANY_REQUESTS,
      'rate-limited',
      `Rate limit exceeded; retry after ${retryAfterSeconds} s.`,
      undefined,
      { 'Retry-After': String(retryAfterSeconds) },
    ),
};

/** A stored answer sent again exactly as it was first sent. */
export class ReplayedResponse extends HttpException {
  constructor(
    readonly replayStatus: number,
    readonly body: unknown,
  ) {
    super('replayed', replayStatus);
  }
}
