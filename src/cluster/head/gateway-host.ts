/**
 * Gateway hosting: how the head opens OpenAI-compatible gateways (`byzerllm serve`) inside its own
 * process, so a gateway request reaches the in-process `Head` without another loopback hop.
 *
 * The cluster layer only defines the interface; the head process (`src/cli/head-main.ts`, the top
 * layer) implements it with `startOpenAIServer` from `src/server`. The admin API holds one gateway
 * per attach request (`POST /admin/v1/gateways`) and stops it when that request ends.
 */
import { z } from 'zod';

export const gatewayStartOptionsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8000),
  apiKey: z.string().min(1).optional(),
  servedModelName: z.string().min(1).optional(),
  allowedOrigins: z.array(z.string().min(1)).default([]),
  sslKeyFile: z.string().min(1).optional(),
  sslCertFile: z.string().min(1).optional(),
  /** Open the web console (`byzerllm console`) instead of the OpenAI-compatible API. */
  console: z.boolean().default(false),
});

export type GatewayStartOptions = z.input<typeof gatewayStartOptionsSchema>;
export type ResolvedGatewayOptions = z.output<typeof gatewayStartOptionsSchema>;

export interface OpenedGateway {
  id: string;
  /** `http(s)://HOST:PORT` */
  address: string;
}

export interface GatewayHost {
  start(options: ResolvedGatewayOptions): Promise<OpenedGateway>;
  /** Stops the gateway and closes its connections. Idempotent. */
  stop(id: string): Promise<void>;
}
