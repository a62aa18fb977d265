import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { REPO_ROOT } from '@order-service/testkit';

const INSTALL = 'apt-get install -y --no-install-recommends prometheus (Debian; scripts/ensure-services.sh does it)';

/** Runs promtool; a machine without it fails the test with what to install, never skips it. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)('promtool', args, { cwd: REPO_ROOT });
    return stdout + stderr;
  } catch (error) {
    const { code, stdout = '', stderr = '' } = error as { code?: unknown; stdout?: string; stderr?: string };
    if (code === 'ENOENT') throw new Error(`promtool is not installed: ${INSTALL}`, { cause: error });
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
}

/** The scrape jobs of the broker and the databases, and the alert that fires when what each watches is gone. */
const INFRASTRUCTURE_ALERTS: Record<string, string> = {
  rabbitmq: 'RabbitMQDown',
  'rabbitmq-queues': 'PaymentQueueNoConsumer',
  postgres: 'PostgresDown',
  redis: 'RedisDown',
};

describe('deployment: the Prometheus alert rules (promtool)', function () {
  this.timeout(30_000);

  it('are valid rules: promtool check rules', async () => {
    expect(await promtool('check', 'rules', 'deploy/prometheus/alerts.yml')).to.match(/SUCCESS: \d+ rules found/);
  });

  it('fire as deploy/prometheus/alerts.test.yml expects, with the labels and the rendered summaries: promtool test rules', async () => {
    expect(await promtool('test', 'rules', 'deploy/prometheus/alerts.test.yml')).to.include('SUCCESS');
  });

  it('have a NoReplicaRunning rule naming each job that must always run', () => {
    const read = (path: string) => readFileSync(`${REPO_ROOT}/${path}`, 'utf8');
    const rules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules);
    const jobs = (parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: Array<{ job_name: string }> }).scrape_configs
      .map((job) => job.job_name)
      // The payment simulator is a demo: nothing of the order service waits for it. The broker's and
      // the databases' exporters have alerts of their own (below).
      .filter((job) => job !== 'simulator' && !(job in INFRASTRUCTURE_ALERTS));
    const noReplica = rules.filter((rule) => rule.alert === 'NoReplicaRunning');
    expect(noReplica.map((rule) => rule.labels?.job)).to.have.members(jobs);
    for (const rule of noReplica) expect(rule.expr).to.equal(`absent(up{job="${rule.labels!.job}"} == 1)`);
    expect(rules.map((rule) => rule.alert)).to.include.members(Object.values(INFRASTRUCTURE_ALERTS));
  });
});
