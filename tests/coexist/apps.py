"""An application written the way pika's tutorials write it: it declares
the exchange and its queue, publishes, then reads its queue.

usage: python3 apps.py AMQP_URL ORDERS
Prints one JSON line: what it saw, and each refusal.
"""
import json
import sys
import time

import pika

url, orders = sys.argv[1], int(sys.argv[2])
result = {"refused": {}, "received": {}}


def declare(name, body):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return body(connection.channel())
    except pika.exceptions.ChannelClosedByBroker as e:
        result["refused"][name] = f"{e.reply_code} {e.reply_text}"
    finally:
        if connection.is_open:
            connection.close()


def publish(channel):
    channel.exchange_declare(exchange="order_events", exchange_type="topic", durable=True)
    channel.confirm_delivery()
    for i in range(orders):
        channel.basic_publish(
            exchange="order_events",
            routing_key="order.created",
            body=json.dumps({"order": 10_000 + i}),
            properties=pika.BasicProperties(delivery_mode=2, message_id=f"p-{i}"),
        )
    result["published"] = orders


def consume(channel):
    channel.queue_declare(queue="inventory", durable=True)
    got, deadline = 0, time.time() + 20
    while got < orders and time.time() < deadline:
        method, _, _ = channel.basic_get(queue="inventory", auto_ack=True)
        if method:
            got += 1
        else:
            time.sleep(0.05)
    result["received"]["inventory"] = got


declare("consumer", lambda ch: ch.queue_declare(queue="inventory", durable=True))
declare("producer", publish)
if "consumer" not in result["refused"]:
    declare("consumer", consume)
print(json.dumps(result))
