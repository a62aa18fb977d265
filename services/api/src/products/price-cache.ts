import type { Db } from '@order-service/shared';
import { findProductPrices } from './products-repository';

/** Catalog prices an order is priced with, by product id, as exact decimal text. */
export interface PriceCache {
  /** The prices of these products; a product that does not exist is absent. */
  pricesOf(productIds: string[]): Promise<Map<string, string>>;
  /** Forgets these products' prices (the catalog changed under them). */
  forget(productIds: string[]): void;
}

/**
 * Prices kept in memory, so that placing an order needs no price lookup: the order statement
 * itself checks every price against the catalog and writes nothing when one changed, and the
 * caller then forgets those prices and tries again. A stale entry can cost a retry, never a wrong
 * total. Products not in the catalog are never cached: they are looked up every time.
 */
export function createPriceCache(db: Db): PriceCache {
  const prices = new Map<string, string>();
  return {
    async pricesOf(productIds) {
      const missing = productIds.filter((id) => !prices.has(id));
      if (missing.length > 0) for (const row of await findProductPrices(db, missing)) prices.set(row.product_id, row.price);
      return new Map(productIds.flatMap((id) => (prices.has(id) ? [[id, prices.get(id)!] as const] : [])));
    },
    forget(productIds) {
      for (const id of productIds) prices.delete(id);
    },
  };
}
