import { Inject, Injectable, Logger } from '@nestjs/common';
import { KeyObject } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Sealed, seal } from './invoice-signature';
import { loadSigningKey } from './signing-key';

/** Holds the Ed25519 invoice key: seals documents and publishes the public key. The private key never leaves. */
@Injectable()
export class InvoiceSigner {
  private readonly logger = new Logger(InvoiceSigner.name);
  private readonly privateKey: KeyObject;
  readonly publicKeyPem: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const key = loadSigningKey({
      pem: config.invoiceSigningKeyPem,
      file: config.invoiceSigningKeyFile,
      mayCreate: config.nodeEnv !== 'production',
    });
    if (key.createdFile) {
      this.logger.warn(
        `Generated a development invoice signing key in ${key.createdFile}; in production set INVOICE_SIGNING_KEY_PEM, or INVOICE_SIGNING_KEY_FILE to a key kept and backed up.`,
      );
    }
    this.privateKey = key.privateKey;
    this.publicKeyPem = key.publicKeyPem;
  }

  seal(document: unknown): Sealed {
    return seal(document, this.privateKey);
  }
}
