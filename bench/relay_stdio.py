#!/usr/bin/env python3
"""The relay benchmark's stdio handler: each request's body goes back out
as one event with key "out"."""
import json
import sys

out = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    out.write(json.dumps({"id": request["id"], "emit": [{"key": "out", "body": request["body"]}]}))
    out.write("\n")
    out.flush()
