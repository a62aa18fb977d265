import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { rabbitmqctl } from './rabbit';
import { waitFor } from './wait';

/** Where a package installs the real server script (Debian's /usr/sbin one logs to /var/log and su's). */
const SERVER_SCRIPTS = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/lib/rabbitmq/bin/rabbitmq-server', '/opt/rabbitmq/sbin/rabbitmq-server'];

/**
 * The rabbitmq-server script a test node runs: `RABBITMQ_SERVER` when set, else the package's.
 * Throws, saying what to install, where there is none: cluster tests fail, they never skip.
 */
export function rabbitmqServerScript(): string {
  const candidates = process.env.RABBITMQ_SERVER ? [process.env.RABBITMQ_SERVER] : SERVER_SCRIPTS;
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      `rabbitmq-server is not installed (looked for ${candidates.join(', ')}): the cluster tests start RabbitMQ nodes of their own. ` +
        'Install it (Debian/Ubuntu: apt-get install -y rabbitmq-server; it brings Erlang), or set RABBITMQ_SERVER to the server script.',
    );
  }
  return found;
}

/** A TCP port nothing listens on right now (the OS's choice). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The uid and gid of the broker's own user, when this process is root; else undefined (run as ourselves). */
function brokerUser(): { uid: number; gid: number; home: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('rabbitmq:'));
  if (!line) return undefined;
  const [, , uid, gid, , home] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), home: home! };
}

export interface RabbitNodeSpec {
  /** Short node name (before the @); the host part is always `localhost`. */
  name: string;
  /** A folder of the node's own: its config, data and logs. */
  dir: string;
  amqpPort: number;
  distPort: number;
  /** Lines appended to the node's rabbitmq.conf (peer discovery, queue_leader_locator…). */
  extraConfig?: string[];
}

/** One RabbitMQ node of a test's own, in a folder of its own, never the host's default node. */
export interface RabbitNode {
  /** `name@localhost`, as rabbitmqctl -n and the cluster know it. */
  readonly nodename: string;
  readonly amqpPort: number;
  readonly running: boolean;
  /** An AMQP URL of this node (guest/guest) for `vhost`. */
  url(vhost?: string): string;
  /** Boots the node and waits until it accepts AMQP connections. */
  start(timeoutMs?: number): Promise<void>;
  /** Stops it as an operator would (SIGTERM: a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL of the whole node (beam and its helpers), as a crash or an OOM kill would end it. */
  kill(): Promise<void>;
  /** rabbitmqctl against this node. */
  ctl(...args: string[]): Promise<string>;
  /** The end of the node's log, for failure messages. */
  logTail(chars?: number): string;
}

export function createRabbitNode(spec: RabbitNodeSpec): RabbitNode {
  const script = rabbitmqServerScript();
  const nodename = `${spec.name}@localhost`;
  const user = brokerUser();
  const files = {
    config: join(spec.dir, 'rabbitmq.conf'),
    envConf: join(spec.dir, 'rabbitmq-env.conf'),
    plugins: join(spec.dir, 'enabled_plugins'),
    log: join(spec.dir, `${spec.name}.log`),
    pid: join(spec.dir, `${spec.name}.pid`),
  };
  writeFileSync(
    files.config,
    [
      // The host's rabbitmq.conf pins its listener to 5672; this file replaces it for this node.
      `listeners.tcp.local = 127.0.0.1:${spec.amqpPort}`,
      'loopback_users = none',
      'log.console = false',
      'log.file.level = info',
      // A test machine's disk is small and shared: never block publishers for it.
      'disk_free_limit.absolute = 1MB',
      ...(spec.extraConfig ?? []),
    ].join('\n') + '\n',
  );
  // Not the host's env file (which names the host's node): this node's settings come from env below.
  writeFileSync(files.envConf, '');
  writeFileSync(files.plugins, '[].\n');
  if (user) chownSync(spec.dir, user.uid, user.gid);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // The Erlang cookie is read from $HOME: the broker user's (the host's cookie) when we are root.
    HOME: user?.home ?? process.env.HOME ?? spec.dir,
    LANG: 'C.UTF-8',
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_CONF_ENV_FILE: files.envConf,
    RABBITMQ_CONFIG_FILE: files.config,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(spec.dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: files.plugins,
    RABBITMQ_MNESIA_BASE: join(spec.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: spec.dir,
    RABBITMQ_LOGS: files.log,
    RABBITMQ_PID_FILE: files.pid,
    RABBITMQ_DIST_PORT: String(spec.distPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };

  const node: RabbitNode = {
    nodename,
    amqpPort: spec.amqpPort,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    url(vhost = '/') {
      return `amqp://guest:guest@127.0.0.1:${spec.amqpPort}/${encodeURIComponent(vhost)}`;
    },
    async start(timeoutMs = 60_000) {
      if (node.running) throw new Error(`${nodename} is already running`);
      // A process group of its own, so kill() ends beam and its helpers together.
      const started = spawn(script, [], { cwd: spec.dir, env, detached: true, stdio: 'ignore', ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      child = started;
      exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
      try {
        const gone = () => started.exitCode !== null || started.signalCode !== null;
        await waitFor(async () => gone() || (await answers(spec.amqpPort)), {
          timeoutMs,
          intervalMs: 100,
          what: `${nodename} to accept AMQP connections`,
        });
        if (gone()) throw new Error(`${nodename} exited during boot (${started.exitCode ?? started.signalCode})`);
      } catch (error) {
        await node.kill();
        throw new Error(`${(error as Error).message}\n${node.logTail()}`, { cause: error });
      }
    },
    async stop() {
      if (!node.running || !child?.pid) return;
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => void node.kill(), 30_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!node.running || !child?.pid) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
    ctl: (...args) => rabbitmqctl('-n', nodename, ...args),
    logTail(chars = 3_000) {
      try {
        return statSync(files.log).isFile() ? readFileSync(files.log, 'utf8').slice(-chars) : '(no log yet)';
      } catch {
        return '(no log)';
      }
    },
  };
  return node;
}
