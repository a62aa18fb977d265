import { Router } from 'express';
import * as v from 'valibot';
import { MoneyAmount, Uuid, moneyToNumber, type Db } from '@order-service/shared';
import { listProducts } from './products-repository';

export const Product = v.object({
  product_id: Uuid,
  name: v.string(),
  price: MoneyAmount,
});

export function productRoutes(db: Db): Router {
  return Router().get('/', async (_req, res) => {
    const products = await listProducts(db);
    res.json(products.map((p) => ({ product_id: p.product_id, name: p.name, price: moneyToNumber(p.price) })));
  });
}
