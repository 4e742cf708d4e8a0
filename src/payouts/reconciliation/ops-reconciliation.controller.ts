import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../../partners/ops.guard';
import { ReconciliationQuery, ReconciliationReportDto } from './reconciliation.dto';
import { ReconciliationService } from './reconciliation.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/reconciliation')
export class OpsReconciliationController {
  constructor(private readonly reconciliation: ReconciliationService) {}

  /** The provider's statement for the window against our attempts, matched by idempotency key. */
  @Get('providers/:providerId')
  report(
    @Param('providerId') providerId: string,
    @Query() query: ReconciliationQuery,
  ): Promise<ReconciliationReportDto> {
    return this.reconciliation.reconcile(providerId, query);
  }
}
