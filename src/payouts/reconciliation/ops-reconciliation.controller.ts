import { Controller, Get, HttpStatus, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProblemException } from '../../common/problem';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { OpsGuard } from '../../partners/ops.guard';
import { ReconciliationQuery, ReconciliationReportDto } from './reconciliation.dto';
import { ReconciliationService } from './reconciliation.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/reconciliation')
export class OpsReconciliationController {
  constructor(
    private readonly reconciliation: ReconciliationService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The provider's statement for the window against our attempts, matched by idempotency key. A provider whose
   * books do not answer within RECONCILE_PROVIDER_TIMEOUT_MS makes it 504, instead of a request held for ever.
   */
  @Get('providers/:providerId')
  async report(
    @Param('providerId') providerId: string,
    @Query() query: ReconciliationQuery,
  ): Promise<ReconciliationReportDto> {
    const { providerTimeoutMs } = this.config.reconcile;
    const signal = AbortSignal.timeout(providerTimeoutMs);
    try {
      return await this.reconciliation.reconcile(providerId, query, signal);
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new ProblemException(
        HttpStatus.GATEWAY_TIMEOUT,
        'provider-timeout',
        `Provider ${providerId} did not answer for its books within ${providerTimeoutMs} ms; ask again later.`,
      );
    }
  }
}
