import { Module } from '@nestjs/common';
import { ConnectorRegistry } from './connector-registry';
import { SandboxController } from './sandbox/sandbox.controller';
import { SandboxConnectorFactory } from './sandbox/sandbox.connector';
import { SandboxDelay } from './sandbox/sandbox-delay';
import { SandboxOpsService } from './sandbox/sandbox-ops.service';
import { SandboxSettingsService } from './sandbox/sandbox-settings.service';
import { SandboxTransfersService } from './sandbox/sandbox-transfers.service';

/** Provider connectors behind one interface; the sandbox ones until real ones register. */
@Module({
  controllers: [SandboxController],
  providers: [
    ConnectorRegistry,
    SandboxConnectorFactory,
    SandboxDelay,
    SandboxSettingsService,
    SandboxTransfersService,
    SandboxOpsService,
  ],
  exports: [ConnectorRegistry, SandboxTransfersService],
})
export class ConnectorsModule {}
