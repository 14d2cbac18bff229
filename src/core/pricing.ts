/**
 * What a SaaS deployment's answers cost, for the spend of gateway virtual keys: `inferParams`
 * `gateway.price_input` and `gateway.price_output`, in money per 1M tokens (the unit providers list
 * prices in; the currency is the operator's), and `gateway.price_request`, money per answered
 * request (per image for image generation), for models billed per call — rerank searches, images,
 * speech — whose answers carry no token usage. Checked once at deploy (see `deploymentSpecSchema`).
 *
 * Money is counted in whole pico-units (10⁻¹² of the currency unit) so that a key's spend is a sum of
 * integers, exactly the upstream's usage × price: a price therefore has at most 6 decimals (per 1M
 * tokens, one token's price is then a whole number of pico-units).
 */
import { z } from 'zod';

export const PRICE_INPUT_PARAM = 'gateway.price_input';
export const PRICE_OUTPUT_PARAM = 'gateway.price_output';
export const PRICE_REQUEST_PARAM = 'gateway.price_request';

/** Pico-units in one unit of money. */
export const PICO_PER_UNIT = 1_000_000_000_000;

/** A deployment's price, in pico-units per token and per request (whole numbers). */
export interface TokenPrice {
  inputPicoPerToken: number;
  outputPicoPerToken: number;
  /** Per answered request (`gateway.price_request`); 0 when not set. */
  requestPico: number;
}

const priceSchema = z
  .string()
  .regex(/^\d{1,6}(\.\d{1,6})?$/, 'must be a price per 1M tokens: a number ≥ 0 with at most 6 decimals')
  .transform((value) => Math.round(Number(value) * 1_000_000));

/**
 * A price per request in pico-units, parsed from its digits (no floating point): at most 3 digits
 * before the point, so that a sum of requests stays exact, and at most 9 after it.
 */
const requestPriceSchema = z
  .string()
  .regex(
    /^\d{1,3}(\.\d{1,9})?$/,
    'must be a price per request: a number from 0 to 999 with at most 9 decimals',
  )
  .transform((value) => {
    const [whole = '0', fraction = ''] = value.split('.');
    return Number(whole) * PICO_PER_UNIT + Number(fraction.padEnd(12, '0'));
  });

/**
 * The price of a deployment from its `inferParams`; undefined when it sets none (a local worker,
 * whose spend is counted in seconds). Throws an error naming the bad param.
 */
export function tokenPriceOf(inferParams: Record<string, string>): TokenPrice | undefined {
  const input = inferParams[PRICE_INPUT_PARAM];
  const output = inferParams[PRICE_OUTPUT_PARAM];
  const request = inferParams[PRICE_REQUEST_PARAM];
  if (input === undefined && output === undefined && request === undefined) return undefined;
  return {
    inputPicoPerToken: input === undefined ? 0 : parsePrice(priceSchema, PRICE_INPUT_PARAM, input),
    outputPicoPerToken: output === undefined ? 0 : parsePrice(priceSchema, PRICE_OUTPUT_PARAM, output),
    requestPico: request === undefined ? 0 : parsePrice(requestPriceSchema, PRICE_REQUEST_PARAM, request),
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

function parsePrice(schema: z.ZodType<number, string>, param: string, value: string): number {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`${param}=${JSON.stringify(value)} ${parsed.error.issues[0]!.message}`);
  }
  return parsed.data;
}
