/**
 * What a SaaS deployment's tokens cost, for the spend of gateway virtual keys: two `inferParams`,
 * `gateway.price_input` and `gateway.price_output`, in money per 1M tokens (the unit providers list
 * prices in; the currency is the operator's). Checked once at deploy (see `deploymentSpecSchema`).
 *
 * Money is counted in whole pico-units (10⁻¹² of the currency unit) so that a key's spend is a sum of
 * integers, exactly the upstream's usage × price: a price therefore has at most 6 decimals (per 1M
 * tokens, one token's price is then a whole number of pico-units).
 */
import { z } from 'zod';

export const PRICE_INPUT_PARAM = 'gateway.price_input';
export const PRICE_OUTPUT_PARAM = 'gateway.price_output';

/** Pico-units in one unit of money. */
export const PICO_PER_UNIT = 1_000_000_000_000;

/** A deployment's price, in pico-units per token (whole numbers). */
export interface TokenPrice {
  inputPicoPerToken: number;
  outputPicoPerToken: number;
}

const priceSchema = z
  .string()
  .regex(/^\d{1,6}(\.\d{1,6})?$/, 'must be a price per 1M tokens: a number ≥ 0 with at most 6 decimals')
  .transform((value) => Math.round(Number(value) * 1_000_000));

/**
 * The price of a deployment from its `inferParams`; undefined when it sets none (a local worker,
 * whose spend is counted in seconds). Throws a zod error naming the bad param.
 */
export function tokenPriceOf(inferParams: Record<string, string>): TokenPrice | undefined {
  const input = inferParams[PRICE_INPUT_PARAM];
  const output = inferParams[PRICE_OUTPUT_PARAM];
  if (input === undefined && output === undefined) return undefined;
  return {
    inputPicoPerToken: input === undefined ? 0 : parsePrice(PRICE_INPUT_PARAM, input),
    outputPicoPerToken: output === undefined ? 0 : parsePrice(PRICE_OUTPUT_PARAM, output),
  };
}

/** A problem with the price params, as a message naming the param; undefined when fine. */
export function checkTokenPrice(inferParams: Record<string, string>): string | undefined {
  try {
    tokenPriceOf(inferParams);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function parsePrice(param: string, value: string): number {
  const parsed = priceSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`${param}=${JSON.stringify(value)} ${parsed.error.issues[0]!.message}`);
  }
  return parsed.data;
}
