// Applications written the way RabbitMQ's tutorials write them: each
// declares what it uses (assertExchange, assertQueue), then publishes or
// consumes. Run against a vhost warren manages.
//
// usage: node apps.js AMQP_URL ORDERS
// Prints one JSON line: what each app saw, and each refusal.
const amqp = require('amqplib');

const [url, orders] = [process.argv[2], Number(process.argv[3])];
const result = { refused: {}, received: {} };

async function connect() {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  return conn;
}

// One app: a connection of its own, closed at the end; a refusal is noted
// under the app's name, as the app would see it crash.
async function app(name, body) {
  const conn = await connect();
  try {
    await body(conn);
  } catch (e) {
    result.refused[name] = e.message;
  } finally {
    try { await conn.close(); } catch (e) {}
  }
}

async function take(ch, queue, count, label) {
  result.received[label] = 0;
  const deadline = Date.now() + 20000;
  while (result.received[label] < count && Date.now() < deadline) {
    const m = await ch.get(queue, { noAck: true });
    if (m) result.received[label] += 1;
    else await new Promise((r) => setTimeout(r, 50));
  }
}

(async () => {
  // The inventory consumer asserts its queue before it consumes; it
  // starts first so that it is there when the orders come.
  const inventory = await connect();
  let inventoryCh;
  try {
    inventoryCh = await inventory.createChannel();
    inventoryCh.on('error', () => {});
    await inventoryCh.assertQueue('inventory', { durable: true });
  } catch (e) {
    result.refused.inventory = e.message;
    inventoryCh = null;
  }

  // The order producer asserts the exchange and publishes order.created.
  await app('producer', async (conn) => {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertExchange('order_events', 'topic', { durable: true });
    for (let i = 0; i < orders; i++) {
      ch.publish('order_events', 'order.created', Buffer.from(JSON.stringify({ order: i })),
        { persistent: true, contentType: 'application/json', messageId: `o-${i}` });
    }
    await ch.waitForConfirms();
    result.published = orders;
  });

  if (inventoryCh) {
    await take(inventoryCh, 'inventory', orders, 'inventory');
  }
  try { await inventory.close(); } catch (e) {}

  // The tutorials' exchange-type examples, each with an exclusive
  // temporary queue of its own.
  const examples = [
    ['direct', 'direct_logs', 'error', {}],
    ['fanout', 'logs', '', {}],
    ['topic', 'topic_logs', 'kern.critical', {}],
    ['headers', 'header_logs', '', { 'x-match': 'all', format: 'pdf' }],
  ];
  for (const [type, exchange, key, headers] of examples) {
    await app(type, async (conn) => {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertExchange(exchange, type, { durable: false });
      const q = await ch.assertQueue('', { exclusive: true });
      const pattern = type === 'topic' ? 'kern.*' : key;
      await ch.bindQueue(q.queue, exchange, pattern, type === 'headers' ? headers : {});
      const props = type === 'headers' ? { headers: { format: 'pdf' } } : {};
      ch.publish(exchange, key, Buffer.from(`hello ${type}`), props);
      await ch.waitForConfirms();
      await take(ch, q.queue, 1, type);
    });
  }
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.log(JSON.stringify({ crashed: e.message, ...result }));
  process.exit(1);
});
