import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpProblem, ProblemDocument, ProblemException, ReplayedResponse, titleFor } from './problem';

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
      fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'The request body is larger than the limit.'
        : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'The request body must be application/json.'
          : fastifyError.code === 'FST_ERR_BAD_URL'
            ? 'The request URL is not valid (a malformed percent-escape).'
            : 'The request body is not valid JSON.';
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
    if (problem.status >= 500) this.logger.error(error instanceof Error ? error.stack : String(error));
    sendProblem(reply, error);
  }
}
