-- Owned by the payment service.
CREATE TABLE payments (
    order_id     text PRIMARY KEY,
    amount_cents bigint NOT NULL,
    status       text NOT NULL,        -- pending, charged, declined
    payment_id   text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Every call to the card provider, whatever it answered: a second
-- 'charged' row for an order would be a double charge.
CREATE TABLE provider_calls (
    id       bigserial PRIMARY KEY,
    order_id text NOT NULL,
    attempt  integer NOT NULL,
    outcome  text NOT NULL,            -- charged, declined, timeout
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_calls_order ON provider_calls (order_id);
