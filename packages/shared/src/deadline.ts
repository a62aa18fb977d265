/**
 * Rejects when `promise` has not settled within `ms`, with "`what` did not answer within `ms` ms";
 * the late result is ignored. For calls whose client has no timeout of its own that can be trusted
 * (a command already sent to a stalled Redis, an AMQP RPC to a broker that stopped answering).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what = 'the call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
