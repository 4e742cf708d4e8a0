import Decimal from 'decimal.js';
import { MoneyDecimal } from '../money/money';
import catalogFile from './route-catalog.json';

/** The fee schedule of one route as of one version. Rates are exact decimals; amounts are whole cents. */
export interface RouteFees {
  version: number;
  fixedFee: Decimal;
  /** Percent of gross, e.g. 3.00 for 3 %. */
  percentFee: Decimal;
  percentMin: Decimal | null;
  percentMax: Decimal | null;
  fxSpreadBps: number;
  intermediaryFee: Decimal;
  minAmount: Decimal;
  maxAmount: Decimal;
  etaHours: number;
}

export interface CatalogRoute {
  id: string;
  provider: string;
  rail: string;
  platforms: readonly string[];
  accountKinds: readonly string[];
  deliversCurrency: string;
  active: boolean;
  fees: RouteFees;
}

export interface CatalogProvider {
  id: string;
  name: string;
}

/** The route catalog as shipped (`route-catalog.json`): what the migration seeds as fee version 1. */
export type CatalogFile = typeof catalogFile;
export type CatalogFileRoute = CatalogFile['routes'][number];

export const CATALOG_FILE: CatalogFile = catalogFile;

/** Every platform some route of the catalog serves: the platforms a quote or a connection may name. */
export const CATALOG_PLATFORMS: readonly string[] = [
  ...new Set(catalogFile.routes.flatMap((route) => route.platforms)),
].sort();

const decimalOrNull = (value: string | null): Decimal | null =>
  value === null ? null : new MoneyDecimal(value);

export function routeFromFile(route: CatalogFileRoute): CatalogRoute {
  return {
    id: route.id,
    provider: route.provider,
    rail: route.rail,
    platforms: route.platforms,
    accountKinds: route.accountKinds,
    deliversCurrency: route.deliversCurrency,
    active: route.active,
    fees: {
      version: 1,
      fixedFee: new MoneyDecimal(route.fixedFee),
      percentFee: new MoneyDecimal(route.percentFee),
      percentMin: decimalOrNull(route.percentMin),
      percentMax: decimalOrNull(route.percentMax),
      fxSpreadBps: route.fxSpreadBps,
      intermediaryFee: new MoneyDecimal(route.intermediaryFee),
      minAmount: new MoneyDecimal(route.minAmount),
      maxAmount: new MoneyDecimal(route.maxAmount),
      etaHours: route.etaHours,
    },
  };
}

/** The shipped catalog as routes, exactly as the migration seeds it. */
export function catalogFromFile(file: CatalogFile = CATALOG_FILE): CatalogRoute[] {
  return file.routes.map(routeFromFile);
}
