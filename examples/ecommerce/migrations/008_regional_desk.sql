-- Owned by the India desk (india_desk): the orders of its region, one row
-- each however often the regional event arrives.
CREATE TABLE regional_desk (
    order_id    text PRIMARY KEY,
    country     text NOT NULL,
    category    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
