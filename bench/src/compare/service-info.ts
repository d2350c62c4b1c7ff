import { request } from 'undici';
import { z } from 'zod';
import { serviceInfoSchema, type ServiceInfo } from '../result-files/schemas.js';

const infoResponseSchema = z.object({
  execution_provider: z.string().nullable().optional(),
  dtype: z.string().nullable().optional(),
  gpu_available: z.boolean().nullable().optional(),
  execution_providers: serviceInfoSchema.shape.providers,
});

/** GET /info: which execution provider and precision the service actually runs with. */
export async function fetchServiceInfo(baseUrl: string): Promise<ServiceInfo> {
  const response = await request(`${baseUrl}/info`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const body = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`GET /info answered HTTP ${response.statusCode}: ${body.slice(0, 200)}`);
  const info = infoResponseSchema.parse(JSON.parse(body));
  return {
    executionProvider: info.execution_provider ?? null,
    dtype: info.dtype ?? null,
    gpuAvailable: info.gpu_available ?? null,
    ...(info.execution_providers ? { providers: info.execution_providers } : {}),
  };
}
