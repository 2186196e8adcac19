#!/usr/bin/env python3
"""Writes a large warren spec for benchmarks.

Default size: 100 topic exchanges, 10,000 queues, 20,000 bindings (two per
queue), 100 services that emit, 10 policies. Every queue is bound and marked
external, so the topology validates clean and every check runs on all of it.

usage: gen_topology.py [--queues N] [--exchanges N] [--bindings-per-queue 1|2]
                       [--vhost NAME] [--queue-type classic|quorum] [OUT]
"""
import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--exchanges", type=int, default=100)
    parser.add_argument("--bindings-per-queue", type=int, choices=[1, 2], default=2)
    parser.add_argument("--vhost", default="bench")
    parser.add_argument("--queue-type", choices=["classic", "quorum"], default="quorum")
    parser.add_argument("out", nargs="?", default="-")
    args = parser.parse_args()

    lines = [
        "# yaml-language-server: $schema=../schemas/warren.schema.json",
        "version: 1",
        f"vhost: {args.vhost}",
        "defaults:",
        f"  queue_type: {args.queue_type}",
        "exchanges:",
    ]
    for x in range(args.exchanges):
        lines.append(f"  events.{x}: {{ type: topic }}")
    lines.append("queues:")
    for q in range(args.queues):
        x = q % args.exchanges
        lines += [
            f"  q.{q}:",
            "    external: true",
            "    bindings:",
            f"      - {{ exchange: events.{x}, key: \"entity{q}.created\" }}",
        ]
        if args.bindings_per_queue == 2:
            lines.append(f"      - {{ exchange: events.{x}, key: \"entity{q}.*.updated\" }}")
    lines.append("policies:")
    # Quorum queues state their delivery limit, as RabbitMQ 4 asks (W701).
    definition = "{ expires: 86400000, delivery-limit: 50 }" if args.queue_type == "quorum" else "{ expires: 86400000 }"
    for p in range(10):
        lines += [
            f"  limits.{p}:",
            f"    pattern: \"^q\\\\.{p}[0-9]*$\"",
            "    apply_to: queues",
            f"    definition: {definition}",
        ]
    lines.append("services:")
    for s in range(args.exchanges):
        keys = f"entity{s}.created" + (f", entity{s}.x.updated" if args.bindings_per_queue == 2 else "")
        lines += [
            f"  producer{s}:",
            f"    emits: [{{ exchange: events.{s}, keys: [{keys}] }}]",
        ]
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
