-- Up Migration
CREATE TABLE orders (
  order_id uuid PRIMARY KEY,
  customer_id uuid NOT NULL,
  shipping_address text NOT NULL CHECK (char_length(shipping_address) BETWEEN 1 AND 500),
  status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PROCESSING', 'FAILED')),
  total_amount numeric(12, 2) NOT NULL CHECK (total_amount >= 0),
  -- Bumped on every change; the Redis cache uses it so a late write never restores an older state.
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
  item_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
  -- Position in the order as the customer sent it; items are always listed in this order.
  line_number smallint NOT NULL CHECK (line_number >= 1),
  product_id uuid NOT NULL REFERENCES products (product_id),
  quantity integer NOT NULL CHECK (quantity > 0 AND quantity <= 1000),
  price numeric(12, 2) NOT NULL CHECK (price >= 0)
);
CREATE UNIQUE INDEX order_items_order_line_idx ON order_items (order_id, line_number);

-- Down Migration
DROP TABLE order_items;
DROP TABLE orders;
