import Decimal from 'decimal.js';
import { ValueTransformer } from 'typeorm';
import { MoneyDecimal } from './money';

/** TypeORM column transformer: numeric in Postgres, decimal.js in code, never a JS number between. */
export const decimalTransformer: ValueTransformer = {
  to: (value: Decimal | null | undefined) => (value == null ? value : value.toString()),
  from: (value: string | null) => (value == null ? value : new MoneyDecimal(value)),
};
