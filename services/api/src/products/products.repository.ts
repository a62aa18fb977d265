import type { Db } from '@order-service/shared';

/** The whole catalog, in a stable order. */
export function listProducts(db: Db) {
  return db.selectFrom('products').select(['product_id', 'name', 'price']).orderBy('name').execute();
}
