/**
 * One-shot step for a new deployment without a key store (the compose `migrate` service): creates the
 * Ed25519 invoice signing key file when it is missing, and never replaces an existing one.
 */
import { loadConfig } from '../src/config/app-config';
import { loadSigningKey } from '../src/invoices/signing-key';

const config = loadConfig();
const key = loadSigningKey({
  pem: config.invoiceSigningKeyPem,
  file: config.invoiceSigningKeyFile,
  mayCreate: true,
});
process.stdout.write(
  key.createdFile
    ? `Created the invoice signing key at ${key.createdFile}; back it up: invoices already issued verify only with it.\n`
    : 'The invoice signing key is in place.\n',
);
