import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  REPO_ROOT,
  createTestDatabase,
  createTestVhost,
  startService,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';

const run = promisify(execFile);
const read = (path: string) => readFileSync(`${REPO_ROOT}/${path}`, 'utf8');

interface ComposeService {
  image?: string;
  hostname?: string;
  volumes?: Array<string | { source?: string; target: string }>;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: Array<{ published: number | string; target: number }>;
  expose?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  init?: boolean;
  profiles?: string[];
  container_name?: string;
}

/**
 * The compose file as Compose itself resolves it. Debian's docker-compose (v1) is what CI installs;
 * the Docker CLI's `docker compose` works too. There is no Docker engine here: `config` needs none.
 */
async function composeConfig(options: string[] = []): Promise<Record<string, ComposeService>> {
  const attempts: Array<[string, string[]]> = [
    ['docker-compose', [...options, 'config']],
    ['docker', ['compose', ...options, 'config']],
  ];
  const failures: string[] = [];
  for (const [command, args] of attempts) {
    try {
      const { stdout } = await run(command, args, { cwd: REPO_ROOT, env: { ...process.env, COMPOSE_PROFILES: 'observability,tools' } });
      return (parse(stdout) as { services: Record<string, ComposeService> }).services;
    } catch (error) {
      failures.push(`${command} ${args.join(' ')}: ${(error as { stderr?: string }).stderr || (error as Error).message}`);
    }
  }
  throw new Error(`the compose file does not validate (install docker-compose: apt-get install docker-compose)\n${failures.join('\n')}`);
}

/** Metric names a PromQL expression reads, without functions, keywords, labels and durations. */
export function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  return [...stripped.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)]
    .filter(([, name, call]) => !call && !keywords.has(name!.toLowerCase()))
    .map(([, name]) => name!);
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

const dashboard = JSON.parse(read('deploy/grafana/dashboards/order-service.json')) as { uid: string; panels: Panel[] };
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
const dashboardExprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
const alerts = parse(read('deploy/prometheus/alerts.yml')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: { runbook: string } }> }>;
};
const alertExprs = alerts.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
  scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; type: string; port: number }> }>;
};

/** The processes built from this repository's image, with the port each listens on. */
const APP_SERVICES = ['api', 'relay', 'consumer', 'simulator'];
const INFRASTRUCTURE = ['postgres', 'redis', 'rabbitmq'];
const OBSERVABILITY = ['prometheus', 'grafana', 'postgres-exporter', 'redis-exporter', 'jaeger'];

/**
 * What the infrastructure's exporters export, per Prometheus job, as documented by the versions
 * docker-compose.yml pins (rabbitmq_prometheus of RabbitMQ 3.13, postgres-exporter v0.15,
 * redis_exporter v1.62). No exporter runs here, so these names are the claim the dashboard and
 * the alerts are checked against, beside the metrics scraped from the running processes.
 */
const EXPORTER_METRICS: Record<string, string[]> = {
  rabbitmq: [
    'rabbitmq_global_messages_confirmed_total',
    'rabbitmq_global_messages_received_confirm_total',
    'rabbitmq_channel_messages_unconfirmed',
    'rabbitmq_alarms_memory_used_watermark',
    'rabbitmq_alarms_free_disk_space_watermark',
  ],
  'rabbitmq-queues': [
    'rabbitmq_detailed_queue_messages',
    'rabbitmq_detailed_queue_messages_ready',
    'rabbitmq_detailed_queue_messages_unacked',
    'rabbitmq_detailed_queue_consumers',
  ],
  postgres: ['pg_up', 'pg_stat_database_numbackends', 'pg_settings_max_connections', 'pg_stat_database_xact_commit', 'pg_stat_database_xact_rollback'],
  redis: [
    'redis_up',
    'redis_memory_used_bytes',
    'redis_memory_max_bytes',
    'redis_connected_clients',
    'redis_commands_processed_total',
    'redis_keyspace_hits_total',
    'redis_keyspace_misses_total',
  ],
};

/** The host paths a service mounts, by their path in the container (Compose v1 writes strings, v2 objects). */
function mounts(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    (service.volumes ?? []).map((volume) => {
      if (typeof volume !== 'string') return [volume.target, volume.source ?? ''];
      const [source, target] = volume.split(':');
      return [target!, source!];
    }),
  );
}

describe('deployment: Compose, Prometheus and Grafana', function () {
  this.timeout(120_000);

  describe('docker-compose.yml', () => {
    let services: Record<string, ComposeService>;

    before(async () => {
      services = await composeConfig();
    });

    it('validates and has every process, the infrastructure, the migration and the observability profile', () => {
      expect(services).to.include.keys(...INFRASTRUCTURE, 'migrate', ...APP_SERVICES, 'api-proxy', 'ops', ...OBSERVABILITY);
      for (const name of OBSERVABILITY) expect(services[name]!.profiles, name).to.deep.equal(['observability']);
    });

    it('gives every long-running service a healthcheck, and starts the processes only once their dependencies are healthy', () => {
      for (const [name, service] of Object.entries(services)) {
        if (name === 'migrate' || name === 'ops') {
          // Compose v1 writes `disable: true` as `test: [NONE]`.
          expect(service.healthcheck?.disable === true || service.healthcheck?.test?.[0] === 'NONE', name).to.equal(true);
          continue;
        }
        expect(service.healthcheck?.test?.[0], `${name} healthcheck`).to.be.oneOf(['CMD', 'CMD-SHELL']);
      }
      for (const name of ['api', 'relay', 'consumer']) {
        expect(services[name]!.depends_on, name).to.deep.equal({
          migrate: { condition: 'service_completed_successfully' },
          postgres: { condition: 'service_healthy' },
          redis: { condition: 'service_healthy' },
          rabbitmq: { condition: 'service_healthy' },
        });
      }
      expect(services.simulator!.depends_on).to.deep.equal({ rabbitmq: { condition: 'service_healthy' } });
      expect(services.migrate!.depends_on).to.deep.equal({ postgres: { condition: 'service_healthy' } });
    });

    it('lets the api, the relay and the consumer scale: no host ports (not even the api ops port), no fixed container names', () => {
      for (const name of APP_SERVICES) {
        expect(services[name]!.ports, name).to.equal(undefined);
        expect(services[name]!.container_name, name).to.equal(undefined);
      }
    });

    it('publishes the ports the test suite uses on the host', () => {
      const published = (name: string) => services[name]!.ports!.map((port) => [Number(port.published), port.target]);
      expect(published('postgres')).to.deep.equal([[5432, 5432]]);
      expect(published('redis')).to.deep.equal([[6379, 6379]]);
      expect(published('rabbitmq')).to.have.deep.members([
        [5672, 5672],
        [15672, 15672],
      ]);
      expect(published('api-proxy')).to.deep.equal([[8000, 8000]]);
    });

    it('puts nginx in front of the api replicas, and the api trusts exactly that one hop for the client IP', async () => {
      const proxy = services['api-proxy']!;
      expect(proxy.image).to.match(/^nginx:/);
      expect(proxy.depends_on).to.deep.equal({ api: { condition: 'service_healthy' } });
      const config = readFileSync(mounts(proxy)['/etc/nginx/nginx.conf']!, 'utf8');
      const directives = config.replace(/#.*$/gm, '');
      // The api's PORT, by its service name (Docker's DNS: every replica), re-resolved at run time.
      expect(directives).to.match(new RegExp(`set \\$api http://api:${services.api!.environment!.PORT};`));
      expect(directives).to.match(/proxy_pass \$api;/);
      expect(directives).to.match(/resolver 127\.0\.0\.11 valid=\d+s/);
      // nginx appends the address it saw: with one hop trusted, that rightmost entry is the client IP.
      expect(directives).to.match(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
      expect(services.api!.environment!.API_TRUST_PROXY_HOPS).to.equal('1');
      expect(directives).to.match(/listen 8000;/);
    });

    it('enables rabbitmq_prometheus on the broker, beside the management UI', () => {
      const plugins = readFileSync(mounts(services.rabbitmq!)['/etc/rabbitmq/enabled_plugins']!, 'utf8');
      expect(plugins.trim()).to.match(/^\[[\w,\s]+\]\.$/);
      expect(plugins).to.include('rabbitmq_prometheus').and.to.include('rabbitmq_management');
      expect(services.rabbitmq!.expose).to.include('15692');
    });

    it('starts telemetry only with deploy/observability.env, which points every process at the profile\'s OTLP endpoint', async () => {
      for (const name of APP_SERVICES) expect(services[name]!.environment?.OTEL_EXPORTER_OTLP_ENDPOINT ?? '', name).to.equal('');
      const observed = await composeConfig(['--env-file', 'deploy/observability.env']);
      const envFile = read('deploy/observability.env');
      expect(envFile).to.match(/^COMPOSE_PROFILES=observability$/m);
      for (const name of APP_SERVICES) {
        const endpoint = new URL(observed[name]!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT!);
        const collector = observed[endpoint.hostname];
        expect(collector?.profiles, `${name} exports to ${endpoint.hostname}`).to.deep.equal(['observability']);
        expect(collector!.expose, `${endpoint.hostname} takes OTLP over HTTP`).to.include(endpoint.port);
      }
    });

    it('runs every process from the one image, with init, the contract port, and an entry file that exists', () => {
      const ports: Record<string, string> = { api: '8000', relay: '9101', consumer: '9102', simulator: '9103' };
      for (const name of [...APP_SERVICES, 'migrate', 'ops']) {
        const service = services[name]!;
        expect(service.image, name).to.equal('order-service:local');
        expect(service.init, name).to.equal(true);
        const entry = name === 'ops' ? service.entrypoint!.at(-1)! : service.command![0]!;
        expect(existsSync(`${REPO_ROOT}/${entry}`), `${name} runs ${entry}`).to.equal(true);
        if (ports[name]) expect(service.environment?.PORT, name).to.equal(ports[name]);
      }
    });

    it('has Prometheus scrape every process and the exporters, on the port each listens on', () => {
      const jobs = prometheus.scrape_configs.map((job) => {
        const [sd] = job.dns_sd_configs;
        expect(sd!.type, job.job_name).to.equal('A');
        expect(sd!.names, job.job_name).to.have.length(1);
        return { job: job.job_name, name: sd!.names[0]!, port: String(sd!.port) };
      });
      expect(jobs.map((job) => job.job)).to.have.members([...APP_SERVICES, ...Object.keys(EXPORTER_METRICS)]);
      for (const job of jobs) {
        const service = services[job.name];
        expect(service, `${job.job} scrapes ${job.name}`).to.not.equal(undefined);
        if (APP_SERVICES.includes(job.job)) {
          // The api serves /metrics on its ops port; the others on PORT.
          expect(service!.environment?.API_OPS_PORT ?? service!.environment?.PORT, job.job).to.equal(job.port);
          expect(job.job).to.equal(job.name);
        } else {
          expect(service!.expose, `${job.name} exposes ${job.port}`).to.include(job.port);
        }
      }
    });
  });

  describe('docker-compose.yml, profile cluster', () => {
    const NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
    let services: Record<string, ComposeService>;
    let single: Record<string, ComposeService>;

    before(async () => {
      [services, single] = await Promise.all([composeConfig(['--env-file', 'deploy/rabbitmq/cluster.env']), composeConfig()]);
    });

    /** Where a service mounts `target` from (Compose v1 writes volumes as "source:target:mode"). */
    const mountOf = (service: ComposeService, target: string) =>
      (service.volumes ?? [])
        .map((volume) => (typeof volume === 'string' ? { source: volume.split(':')[0], target: volume.split(':')[1] } : volume))
        .find((volume) => volume.target === target)?.source;

    it('adds two RabbitMQ nodes that join rabbit@rabbitmq by classic config peer discovery', () => {
      expect(services).to.include.keys(...NODES);
      for (const name of NODES) expect(services[name]!.hostname, name).to.equal(name);
      const join = read('deploy/rabbitmq/join.conf');
      expect(join).to.match(/^cluster_formation\.peer_discovery_backend = classic_config$/m);
      expect(join).to.match(/^cluster_formation\.classic_config\.nodes\.1 = rabbit@rabbitmq$/m);
      for (const name of ['rabbitmq-2', 'rabbitmq-3']) {
        expect(services[name]!.profiles, name).to.deep.equal(['cluster']);
        expect(mountOf(services[name]!, '/etc/rabbitmq/conf.d/30-join.conf'), name).to.match(/deploy\/rabbitmq\/join\.conf$/);
        expect(services[name]!.depends_on, name).to.deep.equal({ rabbitmq: { condition: 'service_healthy' } });
        expect(services[name]!.healthcheck?.test?.[0], name).to.equal('CMD');
      }
    });

    it('gives every node the same Erlang cookie (server and CLI tools) and balanced queue leaders', () => {
      const cookies = NODES.map((name) => services[name]!.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS);
      expect(new Set(cookies).size).to.equal(1);
      expect(cookies[0]).to.match(/^-setcookie \S+$/);
      for (const name of NODES) {
        expect(services[name]!.environment?.RABBITMQ_CTL_ERL_ARGS, name).to.equal(cookies[0]);
        expect(mountOf(services[name]!, '/etc/rabbitmq/conf.d/20-cluster.conf'), name).to.match(/deploy\/rabbitmq\/cluster\.conf$/);
      }
      expect(read('deploy/rabbitmq/cluster.conf')).to.match(/^queue_leader_locator = balanced$/m);
    });

    it('points every process at all three nodes, and at the single node without the profile', async () => {
      const { amqpUrlListProblem, splitList } = await import('@order-service/shared/config');
      for (const name of APP_SERVICES) {
        const url = services[name]!.environment?.RABBITMQ_URL;
        expect(amqpUrlListProblem(url!), name).to.equal(undefined);
        expect(splitList(url!).map((entry) => new URL(entry).hostname), name).to.deep.equal(NODES);
        expect(single[name]!.environment?.RABBITMQ_URL, name).to.equal('amqp://guest:guest@rabbitmq:5672');
      }
    });
  });

  describe('the image', () => {
    const dockerfile = read('Dockerfile');

    it('pins the pnpm of package.json and the tsx of the lockfile', () => {
      const packageManager = (JSON.parse(read('package.json')) as { packageManager: string }).packageManager;
      expect(dockerfile).to.include(`npm install --global --no-fund --no-audit ${packageManager}`);
      const tsx = /^ {2}tsx@([\d.]+):$/m.exec(read('pnpm-lock.yaml'))?.[1];
      expect(tsx, 'tsx in the lockfile').to.be.a('string');
      expect(dockerfile).to.include(`ARG TSX_VERSION=${tsx}`);
    });

    it('runs as a non-root user, from a slim base, with a healthcheck', () => {
      expect(dockerfile).to.match(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
      expect(dockerfile).to.match(/^ARG NODE_IMAGE=node:24-slim$/m);
      expect(dockerfile).to.match(/^USER node$/m);
      expect(dockerfile).to.match(/^HEALTHCHECK /m);
    });
  });

  describe('dashboard and alerts', () => {
    it('are wired to the provisioned Prometheus data source', () => {
      const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string }> };
      const uid = datasources.datasources[0]!.uid;
      for (const panel of panels) {
        expect(panel.datasource?.uid, panel.title).to.equal(uid);
        expect(panel.targets?.length ?? 0, panel.title).to.be.greaterThan(0);
      }
    });

    it('show what operators watch: outbox backlog and age, publish, consume and dead-letter rates, both latencies, HTTP', () => {
      const used = new Set(dashboardExprs.flatMap(metricsIn));
      for (const metric of [
        'relay_outbox_backlog',
        'relay_outbox_oldest_age_seconds',
        'relay_published_total',
        'consumer_events_total',
        'relay_commit_to_confirm_seconds_bucket',
        'consumer_order_to_applied_seconds_bucket',
        'http_request_duration_seconds_count',
        'http_request_duration_seconds_bucket',
      ]) {
        expect(used, metric).to.include(metric);
      }
      expect(dashboardExprs.join('\n')).to.include('outcome="dead_lettered"');
    });

    it('show the broker (queue depth, DLQ depth, unacked, confirms), Postgres and Redis, and alert on any dead letter waiting', () => {
      const used = new Set(dashboardExprs.flatMap(metricsIn));
      for (const metric of [
        'rabbitmq_detailed_queue_messages_ready',
        'rabbitmq_detailed_queue_messages_unacked',
        'rabbitmq_detailed_queue_messages',
        'rabbitmq_global_messages_confirmed_total',
        'pg_stat_database_numbackends',
        'pg_settings_max_connections',
        'redis_memory_used_bytes',
      ]) {
        expect(used, metric).to.include(metric);
      }
      expect(dashboardExprs.join('\n')).to.include('queue="order-service.payment-processed.dlq"');
      const rules = alerts.groups.flatMap((group) => group.rules);
      const dlq = rules.find((rule) => rule.alert === 'PaymentDeadLettersWaiting');
      expect(dlq?.expr).to.match(/rabbitmq_detailed_queue_messages\{queue="order-service\.payment-processed\.dlq"\}\) > 0$/);
    });

    it('name in the runbook every alert they define', () => {
      const runbook = read('docs/operations.md');
      for (const rule of alerts.groups.flatMap((group) => group.rules)) expect(runbook, rule.alert).to.include(`\`${rule.alert}\``);
    });

    it('link every alert to a section of the runbook that exists', () => {
      // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
      const anchors = new Set(
        [...read('docs/operations.md').matchAll(/^#+ (.+)$/gm)].map(([, heading]) =>
          heading!.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-'),
        ),
      );
      for (const rule of alerts.groups.flatMap((group) => group.rules)) {
        const [file, anchor] = rule.annotations.runbook.split('#');
        expect(file, rule.alert).to.equal('docs/operations.md');
        expect(anchors, `${rule.alert} -> #${anchor}`).to.include(anchor);
      }
    });

    describe('use only metrics the processes really export (scraped from the running processes)', () => {
      let database: TestDatabase;
      let vhost: TestVhost;
      const processes: ServiceProcess[] = [];
      const exported = new Set<string>(['up']); // `up` is Prometheus's own, per target

      before(async () => {
        [database, vhost] = await Promise.all([createTestDatabase('deploy'), createTestVhost('deploy')]);
        const env = { DATABASE_URL: database.url, RABBITMQ_URL: vhost.url, PORT: '0', API_RATE_LIMIT_ENABLED: 'false' };
        const entries = [
          'services/api/src/main.ts',
          'services/relay/src/main.ts',
          'services/consumer/src/main.ts',
          'services/consumer/src/simulator/main.ts',
        ];
        const started = await Promise.allSettled(entries.map((entry) => startService(entry, env, { timeoutMs: 60_000 })));
        for (const result of started) if (result.status === 'fulfilled') processes.push(result.value);
        const failed = started.find((result) => result.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;

        for (const process of processes) {
          const text = await (await fetch(`http://127.0.0.1:${process.port}/metrics`)).text();
          for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
            exported.add(name!);
            if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name! + suffix);
            if (type === 'summary') for (const suffix of ['_sum', '_count']) exported.add(name! + suffix);
          }
        }
      });

      after(async () => {
        await Promise.allSettled(processes.map((process) => process.stop()));
        await Promise.allSettled([database?.drop(), vhost?.drop()]);
      });

      // A metric of an exporter counts only while Prometheus scrapes that exporter's job.
      const scraped = new Set(prometheus.scrape_configs.map((job) => job.job_name));
      const fromExporters = new Set(Object.entries(EXPORTER_METRICS).flatMap(([job, names]) => (scraped.has(job) ? names : [])));
      const known = (metric: string) => exported.has(metric) || fromExporters.has(metric);

      it('every dashboard panel query', () => {
        const unknown = dashboardExprs.flatMap(metricsIn).filter((metric) => !known(metric));
        expect(unknown).to.deep.equal([]);
      });

      it('every alert rule', () => {
        const unknown = alertExprs.flatMap(metricsIn).filter((metric) => !known(metric));
        expect(unknown).to.deep.equal([]);
      });

      it('includes the metric contract of every process', () => {
        for (const metric of [
          'http_request_duration_seconds',
          'relay_published_total',
          'relay_retried_total',
          'relay_parked_total',
          'relay_outbox_backlog',
          'relay_outbox_oldest_age_seconds',
          'relay_commit_to_confirm_seconds',
          'consumer_events_total',
          'consumer_handle_duration_seconds',
          'consumer_order_to_applied_seconds',
          'simulator_payments_published_total',
          'process_cpu_seconds_total',
          'nodejs_eventloop_lag_p99_seconds',
        ]) {
          expect(exported, metric).to.include(metric);
        }
      });
    });
  });

  it('metricsIn finds the metric names in PromQL', () => {
    expect(
      metricsIn('histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!="x{y}"}[$__rate_interval])))'),
    ).to.deep.equal(['http_request_duration_seconds_bucket']);
    expect(metricsIn('max(a_total) > 0 or sum(increase(b_total[15m])) > 0 and on (job) up == 1')).to.deep.equal(['a_total', 'b_total', 'up']);
  });
});
