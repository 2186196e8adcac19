-- Owned by the shipping service.
CREATE TABLE shipments (
    order_id   text PRIMARY KEY,
    carrier    text NOT NULL,
    tracking   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
