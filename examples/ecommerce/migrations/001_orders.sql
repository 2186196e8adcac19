-- Owned by the order service (shop api).
CREATE TABLE orders (
    id           text PRIMARY KEY,
    customer     text NOT NULL,
    items        jsonb NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    card         text NOT NULL,
    -- created, reserved, paid: on the way; shipped, failed: final.
    state        text NOT NULL DEFAULT 'created',
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_state ON orders (state);
