import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { httpProblem, ProblemDocument, ProblemException, ReplayedResponse, titleFor } from './problem';

/** What the web framework refuses before any handler runs, said for the client. */
const FRAMEWORK_DETAILS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than the limit.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'The request body must be application/json.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The Content-Length header does not match the body.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty.',
  FST_ERR_BAD_URL: 'The request URL is not valid (a malformed percent-escape).',
  FST_ERR_INVALID_URL: 'The request URL is not valid.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is longer than any identifier this API uses.',
};

/** Turns any error into an RFC 9457 problem+json answer; the stack stays in the log. */
export function toProblem(error: unknown): { problem: ProblemDocument; headers: Record<string, string> } {
  if (error instanceof ProblemException) return { problem: error.toProblem(), headers: error.headers };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const message =
      typeof response === 'object' && response && 'message' in response
        ? [(response as { message: unknown }).message].flat().join('; ')
        : error.message;
    return { problem: httpProblem(status, message), headers: {} };
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (
    typeof fastifyError?.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    const status = fastifyError.statusCode;
    const detail =
      error instanceof SyntaxError
        ? 'The request body is not valid JSON.'
        : (FRAMEWORK_DETAILS[fastifyError.code ?? ''] ??
          `The request cannot be handled (${STATUS_CODES[status] ?? status}).`);
    return { problem: httpProblem(status, detail), headers: {} };
  }
  return {
    problem: {
      type: 'https://payout-router.dev/problems/internal',
      title: titleFor(500),
      status: 500,
      detail: 'An unexpected error occurred; it has been logged.',
    },
    headers: {},
  };
}

export function sendProblem(reply: FastifyReply, error: unknown): void {
  const { problem, headers } = toProblem(error);
  void reply.status(problem.status).headers(headers).type('application/problem+json').send(problem);
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error instanceof ReplayedResponse) {
      // The first answer named its key; the replay does too.
      const key = host.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
      if (typeof key === 'string') void reply.header('Idempotency-Key', key);
      void reply
        .status(error.replayStatus)
        .header('Idempotent-Replayed', 'true')
        .type(error.replayStatus >= 400 ? 'application/problem+json' : 'application/json')
        .send(error.body);
      return;
    }
    const { problem } = toProblem(error);
    if (problem.status >= 500) {
      // The request id ties the stack to the request's log line and to the X-Request-Id the client got.
      const requestId = host.switchToHttp().getRequest<FastifyRequest>().id;
      this.logger.error(
        `Request ${requestId} failed: ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
    sendProblem(reply, error);
  }
}
