-- Owned by the audit service: every event once, with how many times it
-- was delivered (more than one shows a redelivery that was absorbed).
CREATE TABLE audit_records (
    order_id    text NOT NULL,
    event       text NOT NULL,
    message_id  text,
    body        jsonb NOT NULL,
    deliveries  integer NOT NULL DEFAULT 1,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, event)
);
