import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { catchError, from, mergeMap, Observable } from 'rxjs';
import { ProblemException, Problems, ReplayedResponse } from '../common/problem';
import { toProblem } from '../common/problem.filter';
import { canonicalJson } from '../common/canonical-json';
import { UUID } from '../common/id.pipe';
import { AuthenticatedPartner } from './partners.service';
import {
  IdempotencyHold,
  idempotencyKeyOf,
  IdempotencyService,
  keyUsedElsewhere,
} from './idempotency.service';

type PartnerRequest = FastifyRequest & { partner?: AuthenticatedPartner; idempotency?: IdempotencyHold };

/** The request's Idempotency-Key, read and checked as `idempotencyKeyOf` does; undefined without one. */
export const IdempotencyKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return idempotencyKeyOf(request.headers, request.raw.rawHeaders);
  },
);

/**
 * For a handler that replays its own Idempotency-Key: echoes the key as it came, and says when the answer is a
 * replay of the first one.
 */
export function markOwnReplay(
  reply: FastifyReply,
  idempotencyKey: string | undefined,
  replayed: boolean,
): void {
  if (idempotencyKey !== undefined)
    void reply.header('Idempotency-Key', reply.request.headers['idempotency-key']);
  if (replayed) void reply.header('Idempotent-Replayed', 'true');
}

/**
 * On a handler that replays its own Idempotency-Key (`reserveForOwnReplay`): a request refused as malformed
 * (400, from validation before the handler runs) under a key another request already holds answers 422, as the
 * contract says of a key used with a different body. Without a taken key the 400 stands, and the key stays free.
 */
@Injectable()
export class OwnReplayKeyInterceptor implements NestInterceptor {
  constructor(private readonly keys: IdempotencyService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    const key = idempotencyKeyOf(request.headers, request.raw.rawHeaders);
    const partnerId = request.partner?.partnerId;
    if (key === undefined || partnerId === undefined) return next.handle();
    return next.handle().pipe(catchError((error: unknown) => from(this.refusal(partnerId, key, error))));
  }

  private async refusal(partnerId: string, key: string, error: unknown): Promise<never> {
    if (toProblem(error).problem.status === 400 && (await this.keys.isTaken(partnerId, key)))
      throw keyUsedElsewhere();
    throw error;
  }
}

/** The Idempotency-Key the request holds, for a handler that completes it with its effect; null without one. */
export const HeldIdempotencyKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): IdempotencyHold | null =>
    context.switchToHttp().getRequest<PartnerRequest>().idempotency ?? null,
);

const WAIT_FOR_FIRST_MS = 10_000;
const POLL_MS = 25;

/**
 * `Idempotency-Key` on partner POSTs: same key and body → the first answer again; another body → 422;
 * concurrent requests with one key → one runs, the others wait for its answer.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly keys: IdempotencyService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    if (request.method !== 'POST' || !request.partner) return next.handle();
    const key = idempotencyKeyOf(request.headers, request.raw.rawHeaders);
    if (key === undefined) return next.handle();
    // Echoed back as it came.
    const header = request.headers['idempotency-key'] as string;
    const partnerId = request.partner.partnerId;
    const hash = createHash('sha256')
      .update(`${requestTarget(request)}\n${canonicalJson(request.body ?? null)}`)
      .digest('hex');
    const status = this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    const reply = context.switchToHttp().getResponse<FastifyReply>();

    return from(this.awaitClaim(partnerId, key, hash)).pipe(
      mergeMap((token) => {
        const hold: IdempotencyHold = { partnerId, key, requestHash: hash, token, status };
        request.idempotency = hold;
        return next.handle().pipe(
          mergeMap(async (body) => {
            // A no-op when the handler already completed the key with its effect (completeIn).
            await this.keys.complete(hold, status, body);
            void reply.header('Idempotency-Key', header);
            return body;
          }),
          catchError((error) => {
            // A refusal names its key too, as its replay will.
            void reply.header('Idempotency-Key', header);
            return from(this.recordFailure(hold, error));
          }),
        );
      }),
    );
  }

  /** Answers the claim's token once this request holds the key; throws the replay or the conflict otherwise. */
  private async awaitClaim(partnerId: string, key: string, hash: string): Promise<string> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      const claim = await this.keys.claim(partnerId, key, hash);
      if (claim.kind === 'claimed') return claim.token;
      if (claim.kind === 'mismatch') throw keyUsedElsewhere();
      if (claim.kind === 'replay') throw new ReplayedResponse(claim.status, claim.body);
      if (Date.now() > deadline) {
        throw Problems.conflict('A request with this Idempotency-Key is still in progress; retry later.');
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async recordFailure(hold: IdempotencyHold, error: unknown): Promise<never> {
    const { problem } = toProblem(error);
    if (problem.status >= 500 || problem.status === 429) {
      await this.keys.release(hold);
    } else {
      const body = error instanceof ProblemException ? error.toProblem() : problem;
      await this.keys.complete(hold, problem.status, body);
    }
    throw error;
  }
}

/**
 * What the request is addressed to, as the handler reads it: the route with its path parameters (an id in any
 * case, as IdPipe reads it) and its query, each in one spelling. A retry that writes the same id in capitals, or
 * the same query in another order, is the same request and replays, instead of answering 422. A request with ids
 * in lower case and no query reads as its URL, as fingerprints were written before, so keys held across a deploy
 * keep replaying.
 */
function requestTarget(request: FastifyRequest): string {
  const route = request.routeOptions.url;
  if (route === undefined) return `${request.method} ${request.url}`;
  const params = request.params as Record<string, string>;
  const path = route.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name] ?? '';
    return UUID.test(value) ? value.toLowerCase() : value;
  });
  const query = request.query as Record<string, unknown> | undefined;
  const target = `${request.method} ${path}`;
  return query && Object.keys(query).length > 0 ? `${target} ${canonicalJson(query)}` : target;
}
