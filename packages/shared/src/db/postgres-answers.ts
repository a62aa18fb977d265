import type { Db } from './index';

/** A readiness check (see checkReadiness): true once Postgres answers a query through `db`'s pool. */
export const postgresAnswers = (db: Db) => () => db.selectNoFrom((eb) => eb.val(1).as('ok')).execute().then(() => true);
