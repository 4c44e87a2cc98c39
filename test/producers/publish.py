"""A Python producer as a web app would write one: publishes producer JSON to the nestjs-inbox
queue with pika (Debian's python3-pika, nothing else).

    python3 publish.py <amqp url> <queue> [--message-id ID] [--times N] [--interval S] < messages

stdin holds one message per line, each published as is (the tests also send broken ones) with
a persistent delivery mode and publisher confirms; `--message-id` sets the AMQP message_id (the
line number is appended when there are several lines); `--times` publishes each line N times,
as a publisher retry or a broker redelivery would present it; `--interval` waits between lines.
"""
import argparse
import sys

import pika

parser = argparse.ArgumentParser()
parser.add_argument('url')
parser.add_argument('queue')
parser.add_argument('--message-id')
parser.add_argument('--times', type=int, default=1)
parser.add_argument('--interval', type=float, default=0)
args = parser.parse_args()

lines = [line for line in sys.stdin.buffer.read().split(b'\n') if line]
connection = pika.BlockingConnection(pika.URLParameters(args.url))
channel = connection.channel()
# Declared as the consumer declares it (durable, no arguments), so a message published before
# the consumer first connects waits in the queue instead of being dropped by the exchange.
channel.queue_declare(queue=args.queue, durable=True)
channel.confirm_delivery()
for number, body in enumerate(lines):
    message_id = args.message_id
    if message_id is not None and len(lines) > 1:
        message_id = f'{message_id}-{number}'
    properties = pika.BasicProperties(content_type='application/json', delivery_mode=2, message_id=message_id)
    for _ in range(args.times):
        channel.basic_publish(exchange='', routing_key=args.queue, body=body, properties=properties, mandatory=True)
    if args.interval:
        connection.sleep(args.interval)  # keeps servicing the connection (heartbeats) meanwhile
connection.close()
print(f'published {len(lines) * args.times}')
