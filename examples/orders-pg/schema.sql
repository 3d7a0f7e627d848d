CREATE TABLE IF NOT EXISTS orders (
  id BIGSERIAL PRIMARY KEY,
  customer_id INT NOT NULL,
  total_cents BIGINT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS order_lines (
  order_id BIGINT NOT NULL REFERENCES orders (id),
  sku VARCHAR(64) NOT NULL,
  quantity INT NOT NULL,
  unit_cents BIGINT NOT NULL,
  PRIMARY KEY (order_id, sku)
);
