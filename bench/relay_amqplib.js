// The consumer most RabbitMQ tutorials teach, on Node.js amqplib, as a
// relay for bench/relay.sh: assert the queue, consume, publish the event,
// ack. Two variants:
//   tutorial  publish, then ack at once (no publisher confirms: a broker
//             that loses the event after the ack loses it for good);
//   confirm   a confirm channel, ack once the broker has confirmed the
//             event, the guarantee warren gives.
// The events carry what warren's carry: a new message id, the input's
// correlation id (else its message id), JSON, a timestamp, persistent.
//
// usage: node bench/relay_amqplib.js tutorial|confirm AMQP_URL QUEUE EXCHANGE KEY PREFETCH
'use strict';
const amqp = require('amqplib');
const crypto = require('crypto');

async function main() {
  const [mode, url, queue, exchange, key, prefetch] = process.argv.slice(2);
  const connection = await amqp.connect(url);
  const channel = mode === 'confirm'
    ? await connection.createConfirmChannel()
    : await connection.createChannel();
  // As tutorials do: declare what the consumer expects. It must repeat the
  // queue's arguments exactly, or the broker closes the channel with
  // PRECONDITION_FAILED; the bench queue has none.
  await channel.assertQueue(queue, { durable: true });
  await channel.prefetch(Number(prefetch));
  const properties = (input) => ({
    persistent: true,
    contentType: 'application/json',
    messageId: crypto.randomUUID(),
    timestamp: Math.floor(Date.now() / 1000),
    correlationId: input.properties.correlationId || input.properties.messageId,
  });
  await channel.consume(queue, (message) => {
    if (message === null) return;
    if (mode === 'confirm') {
      channel.publish(exchange, key, message.content, properties(message), (err) => {
        if (err) channel.nack(message);
        else channel.ack(message);
      });
    } else {
      channel.publish(exchange, key, message.content, properties(message));
      channel.ack(message);
    }
  });
  const stop = async () => {
    try { await connection.close(); } catch (_) { /* already gone */ }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
