#!/usr/bin/env python3
"""Writes the definitions document of a spec made by gen_topology.py (its
exchanges, queues and bindings), in the shape POST /api/definitions/{vhost}
takes, for the broker-side baselines of bench/plan.sh and bench/apply.sh.

usage: definitions.py SPEC > definitions.json
"""
import json
import re
import sys

exchanges, queues, bindings = [], [], []
current = None
queue_type = "classic"
for line in open(sys.argv[1]):
    m = re.match(r"  queue_type: (\w+)", line)
    if m:
        queue_type = m.group(1)
    m = re.match(r"  (events\.\d+): \{ type: topic \}", line)
    if m:
        exchanges.append({"name": m.group(1), "type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})
    m = re.match(r"  (q\.\d+):$", line)
    if m:
        current = m.group(1)
        queues.append({"name": current, "durable": True, "auto_delete": False, "arguments": {"x-queue-type": queue_type}})
    m = re.match(r'      - \{ exchange: (events\.\d+), key: "([^"]+)" \}', line)
    if m:
        bindings.append({"source": m.group(1), "destination": current, "destination_type": "queue", "routing_key": m.group(2), "arguments": {}})
json.dump({"exchanges": exchanges, "queues": queues, "bindings": bindings, "policies": []}, sys.stdout)
