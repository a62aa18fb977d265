import { sql } from 'kysely';
import type { Db } from '@order-service/shared';

/** The whole catalog, in a stable order. */
export function listProducts(db: Db) {
  return db.selectFrom('products').select(['product_id', 'name', 'price']).orderBy('name').execute();
}

/** Catalog prices of the given products; products that do not exist are simply absent. */
export function findProductPrices(db: Db, productIds: string[]) {
  return db
    .selectFrom('products')
    .select(['product_id', 'price'])
    .where('product_id', '=', sql<string>`any(${productIds}::uuid[])`)
    .execute();
}
