import { readFileSync } from 'node:fs';
import express from 'express';

/*
 * The limit of figure 2: a bare express route that returns the same JSON bodies as
 * GET /api/orders/{id}, from memory. No middleware, no Redis, no validation: what this
 * machine's Node and express can serve, measured by the same autocannon in the same run.
 * Started as its own process with the services' node command: `BARE_BODIES=<file> PORT=<n> node --import tsx bench/baselines/bare-express.ts`.
 */
const bodies = new Map<string, string>(Object.entries(JSON.parse(readFileSync(process.env.BARE_BODIES!, 'utf8')) as Record<string, string>));
const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/api/orders/:order_id', (req, res) => {
  const body = bodies.get(req.params.order_id);
  if (body === undefined) res.status(404).end();
  else res.type('application/json').send(body);
});
const server = app.listen(Number(process.env.PORT ?? 0));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
