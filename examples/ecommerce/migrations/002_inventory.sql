-- Owned by the inventory service.
CREATE TABLE stock (
    sku       text PRIMARY KEY,
    available integer NOT NULL CHECK (available >= 0)
);
-- One row per order: a redelivered order.created finds its answer here
-- instead of reserving twice.
CREATE TABLE reservations (
    order_id   text PRIMARY KEY,
    status     text NOT NULL,          -- pending, reserved, out_of_stock
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stock (sku, available)
SELECT 'sku-' || n, 1000000000 FROM generate_series(1, 20) AS n;
INSERT INTO stock (sku, available) VALUES ('sku-sold-out', 0);
