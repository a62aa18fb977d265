import net from 'node:net';

export interface CountingProxy {
  /** `target` with its host and port replaced by the proxy's. */
  url(target: string): string;
  /** Bytes clients have sent through the proxy so far. */
  readonly bytesUp: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy that counts what its clients send upstream: how much a process asks of a
 * dependency (queries to Postgres), seen from outside the process.
 */
export async function startCountingProxy(targetHost: string, targetPort: number): Promise<CountingProxy> {
  let bytesUp = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (bytesUp += chunk.length));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url(target) {
      const url = new URL(target);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    get bytesUp() {
      return bytesUp;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
