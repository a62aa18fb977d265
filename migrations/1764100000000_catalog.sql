-- Up Migration
CREATE TABLE products (
  product_id uuid PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  price numeric(12, 2) NOT NULL CHECK (price >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Demo catalog with fixed ids, so examples and tests can name products directly.
INSERT INTO products (product_id, name, price) VALUES
  ('11111111-1111-4111-8111-111111111111', 'Espresso beans, 1 kg', 24.90),
  ('22222222-2222-4222-8222-222222222222', 'Pour-over kettle', 49.99),
  ('33333333-3333-4333-8333-333333333333', 'Ceramic mug', 12.50),
  ('44444444-4444-4444-8444-444444444444', 'Burr grinder', 149.00),
  ('55555555-5555-4555-8555-555555555555', 'Paper filters, 100 pack', 0.10);

-- Down Migration
DROP TABLE products;
