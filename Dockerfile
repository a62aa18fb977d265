# syntax=docker/dockerfile:1
#
# One image for every process of the order service: api, relay, consumer, payment simulator,
# the one-shot migration and the ops CLI. They share all but a handful of dependencies, so one
# image means one build, one set of layers on each host and one thing to scan; Compose picks
# the process with `command`. There is no build step: tsx runs the TypeScript sources.
#
#   docker build -t order-service .
#   docker run --init -e DATABASE_URL=... order-service services/relay/src/main.ts

ARG NODE_IMAGE=node:24-slim

# ---- dependencies: production packages only, from the lockfile ----------------------------
FROM ${NODE_IMAGE} AS deps
ENV CI=true
# corepack is not relied on; the pinned pnpm comes from npm.
RUN npm install --global --no-fund --no-audit pnpm@10.34.9
WORKDIR /app
# The download layer depends on the lockfile alone, so source edits do not refetch packages.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --prod --store-dir /pnpm/store
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --prod --offline --store-dir /pnpm/store

# ---- runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# tsx is the runtime of every process. It is a dev dependency of the workspace (an install with
# --prod leaves it out), so it is installed on its own here, pinned to the lockfile's version
# (a test checks that they agree).
ARG TSX_VERSION=4.23.15
RUN npm install --global --no-fund --no-audit "tsx@${TSX_VERSION}" && npm cache clean --force
WORKDIR /app
COPY --from=deps /app /app
# `node --import tsx` resolves tsx from /app: one node process per container (no tsx wrapper
# process in between), so SIGTERM from `docker stop` reaches the process's own shutdown handler.
RUN ln -s "$(npm root --global)/tsx" /app/node_modules/tsx
# The code stays owned by root and read-only to the process.
USER node
ENV PORT=8000
EXPOSE 8000
# slim images have no curl. Readiness (not mere liveness), so `depends_on: service_healthy`
# waits until a process can do its job.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_OPS_PORT||process.env.PORT)+'/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# The second import registers the OpenTelemetry instrumentations before the process's modules
# load, when OTEL_EXPORTER_OTLP_ENDPOINT is set; without it, it does nothing.
ENTRYPOINT ["node", "--max-old-space-size=128", "--import", "tsx", "--import", "@order-service/shared/instrument"]
CMD ["services/api/src/main.ts"]
