CREATE TABLE IF NOT EXISTS customers (
  id INT PRIMARY KEY,
  tier ENUM('standard', 'silver', 'gold') NOT NULL DEFAULT 'standard'
);
CREATE TABLE IF NOT EXISTS quotes (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  customer_id INT NOT NULL,
  total_cents BIGINT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS quote_lines (
  quote_id BIGINT NOT NULL,
  sku VARCHAR(64) NOT NULL,
  quantity INT NOT NULL,
  line_cents BIGINT NOT NULL,
  PRIMARY KEY (quote_id, sku)
);
