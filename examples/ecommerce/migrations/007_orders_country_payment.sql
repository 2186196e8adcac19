-- Owned by the order service: where an order ships and how it is paid.
ALTER TABLE orders
    ADD COLUMN country text NOT NULL DEFAULT 'india',
    ADD COLUMN payment text NOT NULL DEFAULT 'prepaid';
-- A cash-on-delivery order may have no card.
ALTER TABLE orders ALTER COLUMN card DROP NOT NULL;
