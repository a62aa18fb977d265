/**
 * The least work an order needs, as a fixed pgbench script: the order, its 2 items and its outbox
 * row in one statement, no trigger, no key, no price check, sent as a prepared statement. It is
 * written by hand and never derived from the code, so the ratio to it measures the design and
 * does not move when the code changes. The payload is a fixed CloudEvent of the API's size.
 */
export const LEAST_ORDER_SCRIPT = `
WITH new_order AS (
  INSERT INTO orders (order_id, customer_id, shipping_address, total_amount)
  VALUES (gen_random_uuid(), '0d6f6b86-9c1b-4b8e-8c33-4a1c1b7a2f10', '1 Benchmark Street, 12345 Loadtown', 62.30)
  RETURNING order_id
), new_items AS (
  INSERT INTO order_items (order_id, line_number, product_id, quantity, price)
  SELECT order_id, 1, '11111111-1111-4111-8111-111111111111'::uuid, 2, 24.90 FROM new_order
  UNION ALL
  SELECT order_id, 2, '33333333-3333-4333-8333-333333333333'::uuid, 1, 12.50 FROM new_order
)
INSERT INTO outbox (event_id, event_type, aggregate_id, exchange, routing_key, payload)
SELECT gen_random_uuid(), 'OrderCreated', order_id, 'orders', 'order.created',
       json_build_object('specversion', '1.0', 'id', gen_random_uuid(), 'source', '/order-service/api', 'type', 'OrderCreated',
         'time', now(), 'datacontenttype', 'application/json',
         'data', json_build_object('order_id', order_id, 'customer_id', '0d6f6b86-9c1b-4b8e-8c33-4a1c1b7a2f10',
           'items', json_build_array(
             json_build_object('product_id', '11111111-1111-4111-8111-111111111111', 'quantity', 2, 'price', 24.90),
             json_build_object('product_id', '33333333-3333-4333-8333-333333333333', 'quantity', 1, 'price', 12.50)),
           'total_amount', 62.30, 'shipping_address', '1 Benchmark Street, 12345 Loadtown', 'created_at', now()))
FROM new_order;
`;
