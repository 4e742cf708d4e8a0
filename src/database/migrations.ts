import { Partners1763900000000 } from '../../migrations/1763900000000-partners';
import { IdempotencyKeys1763900000100 } from '../../migrations/1763900000100-idempotency-keys';
import { Freelancers1763900000200 } from '../../migrations/1763900000200-freelancers';
import { PlatformConnectionsAndEvents1763900000400 } from '../../migrations/1763900000400-platform-connections-and-events';
import { Payouts1763900000500 } from '../../migrations/1763900000500-payouts';
import { RoutingCatalog1763900001000 } from '../../migrations/1763900001000-routing-catalog';
import { Ledger1763900002000 } from '../../migrations/1763900002000-ledger';
import { Invoices1763900003000 } from '../../migrations/1763900003000-invoices';
import { SandboxTransfers1763900004000 } from '../../migrations/1763900004000-sandbox-transfers';
import { PartnerWebhooks1763900005000 } from '../../migrations/1763900005000-partner-webhooks';
import { PartnerEventsAtSource1763900006000 } from '../../migrations/1763900006000-partner-events-at-source';
import { LedgerPayoutEntriesLocked1763900008000 } from '../../migrations/1763900008000-ledger-payout-entries-locked';
import { IdempotencyReplayVerbatim1763900009000 } from '../../migrations/1763900009000-idempotency-replay-verbatim';
import { InvoiceCounterIssuedAt1763900010000 } from '../../migrations/1763900010000-invoice-counter-issued-at';
import { InvoiceFxFilledLater1763900011000 } from '../../migrations/1763900011000-invoice-fx-filled-later';
import { WebhookEventPayoutLink1763900012000 } from '../../migrations/1763900012000-webhook-event-payout-link';
import { InvoiceReturnedAfterPrc1763900013000 } from '../../migrations/1763900013000-invoice-returned-after-prc';
import { AttemptLastSend1763900014000 } from '../../migrations/1763900014000-attempt-last-send';
import { PayoutReturnedEvent1763900015000 } from '../../migrations/1763900015000-payout-returned-event';
import { DeliveryInFlight1763900016000 } from '../../migrations/1763900016000-delivery-in-flight';
import { PayoutsNeedingOps1763900017000 } from '../../migrations/1763900017000-payouts-needing-ops';
import { DeliveryInFlightPerPartner1763900018000 } from '../../migrations/1763900018000-delivery-in-flight-per-partner';
import { InvoicesRealizedPerFreelancer1763900019000 } from '../../migrations/1763900019000-invoices-realized-per-freelancer';
import { PartnerEventTime1763900020000 } from '../../migrations/1763900020000-partner-event-time';
import { ConnectionSecretRotation1763900021000 } from '../../migrations/1763900021000-connection-secret-rotation';
import { EndpointSecretRotation1763900022000 } from '../../migrations/1763900022000-endpoint-secret-rotation';
import { DeliveryRedelivery1763900023000 } from '../../migrations/1763900023000-delivery-redelivery';
import { AccountClosing1763900024000 } from '../../migrations/1763900024000-account-closing';
import { ConnectionDeleting1763900025000 } from '../../migrations/1763900025000-connection-deleting';
import { RealizedMonthsRecomputed1763900026000 } from '../../migrations/1763900026000-realized-months-recomputed';
import { PayoutUnmatchedEvent1763900027000 } from '../../migrations/1763900027000-payout-unmatched-event';
import { EndpointEvents1763900028000 } from '../../migrations/1763900028000-endpoint-events';
import { EarlierDecisions1763900029000 } from '../../migrations/1763900029000-earlier-decisions';
import { ReturnChecksKept1763900030000 } from '../../migrations/1763900030000-return-checks-kept';
import { PayoutRefunded1763900031000 } from '../../migrations/1763900031000-payout-refunded';
import { ReconciliationIndexes1763900032000 } from '../../migrations/1763900032000-reconciliation-indexes';
import { SettleChecksKept1763900033000 } from '../../migrations/1763900033000-settle-checks-kept';
import { LedgerEntriesClosed1763900034000 } from '../../migrations/1763900034000-ledger-entries-closed';
import { AttemptUnknownSends1763900035000 } from '../../migrations/1763900035000-attempt-unknown-sends';

/** Every migration, in order. Listed explicitly so the app, the CLI and the tests run the same set. */
export const MIGRATIONS = [
  Partners1763900000000,
  IdempotencyKeys1763900000100,
  Freelancers1763900000200,
  PlatformConnectionsAndEvents1763900000400,
  Payouts1763900000500,
  RoutingCatalog1763900001000,
  Ledger1763900002000,
  Invoices1763900003000,
  SandboxTransfers1763900004000,
  PartnerWebhooks1763900005000,
  PartnerEventsAtSource1763900006000,
  LedgerPayoutEntriesLocked1763900008000,
  IdempotencyReplayVerbatim1763900009000,
  InvoiceCounterIssuedAt1763900010000,
  InvoiceFxFilledLater1763900011000,
  WebhookEventPayoutLink1763900012000,
  InvoiceReturnedAfterPrc1763900013000,
  AttemptLastSend1763900014000,
  PayoutReturnedEvent1763900015000,
  DeliveryInFlight1763900016000,
  PayoutsNeedingOps1763900017000,
  DeliveryInFlightPerPartner1763900018000,
  InvoicesRealizedPerFreelancer1763900019000,
  PartnerEventTime1763900020000,
  ConnectionSecretRotation1763900021000,
  EndpointSecretRotation1763900022000,
  DeliveryRedelivery1763900023000,
  AccountClosing1763900024000,
  ConnectionDeleting1763900025000,
  RealizedMonthsRecomputed1763900026000,
  PayoutUnmatchedEvent1763900027000,
  EndpointEvents1763900028000,
  EarlierDecisions1763900029000,
  ReturnChecksKept1763900030000,
  PayoutRefunded1763900031000,
  ReconciliationIndexes1763900032000,
  SettleChecksKept1763900033000,
  LedgerEntriesClosed1763900034000,
  AttemptUnknownSends1763900035000,
];
