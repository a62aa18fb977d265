/**
 * Loaded before a service's own modules, by `node --import tsx --import @order-service/shared/instrument <main.ts>`
 * (the root package.json scripts, the Docker image and the test kit all start processes so).
 *
 * With OTEL_EXPORTER_OTLP_ENDPOINT set it registers the maintained HTTP, express and pg
 * instrumentations. They patch a module when it is loaded, and a service's static imports all
 * load before its first line runs, so this cannot wait for `startTelemetry` in main.ts: the
 * ESM hook (import-in-the-middle, limited to the modules instrumented) goes in first, here. The
 * spans they make go to the global tracer provider, which `startTelemetry` sets once it knows
 * the service's name. Without the endpoint nothing is loaded and nothing is patched.
 *
 * It reads process.env itself, because it runs before any configuration is loaded.
 */
import { register } from 'node:module';

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { instrumentations } = await import('./instrumentations');
  registerInstrumentations({ instrumentations: await instrumentations() });
  await waitForAllMessagesAcknowledged();
}
