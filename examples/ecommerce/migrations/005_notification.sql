-- Owned by the notification service: one notification per order and
-- event, however often the event is delivered.
CREATE TABLE notifications (
    order_id   text NOT NULL,
    event      text NOT NULL,
    message_id text,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, event)
);
