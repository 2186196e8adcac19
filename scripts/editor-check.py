#!/usr/bin/env python3
"""What an editor shows for warren specs, measured with the real backend.

Installs yaml-language-server (the engine behind the YAML support of VS Code,
Neovim, Helix, JetBrains and others) from npm, speaks LSP to it over stdio
with schemas/warren.schema.json mapped to every spec, and checks:

- the bundled specs and the plan fixtures get no diagnostic at all;
- how many of the error files in tests/broken/ the editor flags (at least
  MIN_FLAGGED; the ones a schema cannot express are listed in NOT_EXPRESSIBLE
  with the reason, and an error file outside that list must be flagged);
- hover returns text for every top-level section and every queue, exchange
  and service field.

usage: python3 scripts/editor-check.py   (exit 1 on a failed check)
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSION = "1.25.0"
CACHE = pathlib.Path(os.environ.get("WARREN_EDITOR_CACHE", ROOT / "target" / "editor"))
MIN_FLAGGED = 32

# Error files whose mistake needs the whole topology, not one file's shape:
# a JSON Schema validates a document alone and cannot follow references.
NOT_EXPRESSIBLE = {
    "E010-dead-letter-key-without-exchange.yaml": "a raw argument that needs another raw argument or a named field beside it",
    "E010-unknown-broker-version.yaml": "which texts name a RabbitMQ release is warren's parser",
    "E010-handler-timeout-past-consumer-timeout.yaml": "a bound on a duration is a comparison, which a pattern cannot make",
    "E703-apply-to-queue-type-on-3-11.yaml": "which releases a spec targets, against the release a setting needs",
    "E703-master-locator-on-4-3.yaml": "which releases a spec targets, against the release a setting needs",
    "E703-mirroring-policy-on-4-1.yaml": "which releases a spec targets, against the release a setting needs",
    "E001-alias-bomb.yaml": "the editor expands aliases itself; the budget is warren's",
    "E009-invalid-ignore-pattern.yaml": "the schema cannot say which regular expressions compile",
    "E009-invalid-policy-pattern.yaml": "the schema cannot say which regular expressions compile",
    "E101-unknown-alternate-exchange.yaml": "a reference to an exchange declared elsewhere",
    "E101-unknown-dead-letter-exchange.yaml": "a reference to an exchange declared elsewhere",
    "E101-unknown-emit-exchange.yaml": "a reference to an exchange declared elsewhere",
    "E101-unknown-exchange-binding.yaml": "a reference to an exchange declared elsewhere",
    "E102-unknown-binding-queue.yaml": "a reference to a queue declared elsewhere",
    "E102-unknown-queue-consumed.yaml": "a reference to a queue declared elsewhere",
    "E103-duplicate-generated-queue.yaml": "a name that a service generates collides with a declared one",
    "E107-unknown-user.yaml": "a reference to a user declared elsewhere",
    "E108-emit-to-internal-exchange.yaml": "whether the exchange an emit names is internal is said elsewhere",
    "E401-dead-letter-cycle.yaml": "a cycle through several queues",
    "E502-policy-tie.yaml": "which policies match which queues",
    "E604-retry-conflict.yaml": "a service's retry against the settings of a queue declared elsewhere",
    "E605-conflicting-emit.yaml": "one key repeated across two list entries: a schema's uniqueness is of whole items",
    "E006-per-instance-mixed.yaml": "all-or-none of a flag across a list's items, which rules.rs does not state yet",
    "E010-delay-of-zero.yaml": "a bound on a duration is a comparison, which a pattern cannot make",
    "E607-delay-into-generated.yaml": "an exchange that another service's retry generates",
    "E609-emit-into-a-retry-exchange.yaml": "an exchange that another service's retry generates",
    "E610-app-declaration-refused.yaml": "an application's declaration against the object the spec makes of it elsewhere",
    "E104-reserved-settings-policy-name.yaml": "a policy name warren keeps for the policies it generates",
    "E010-max-length-past-i64.yaml": "a bound at 2^63 - 1, which an editor's numbers (doubles) cannot tell from 2^63",
    "E608-broker-retry-on-classic.yaml": "a queue's type, which the file's defaults or the live vhost may decide",
    "E708-broker-retry-on-4-0.yaml": "which releases a spec targets, against the release a setting needs",
    "E010-broker-retry-with-delays.yaml": "which retry fields go with which via: a choice between field sets the hover and completion would lose",
}

# One spec that sets every field, for hover.
HOVER_SPEC = """\
version: 1
vhost: shop
broker:
  version: "3.13"
  nodes: 3
defaults:
  queue_type: quorum
exchanges:
  events:
    type: topic
    durable: true
    auto_delete: false
    internal: false
    alternate_exchange: spill
    arguments: {}
  spill:
    type: fanout
queues:
  orders:
    type: classic
    durable: true
    auto_delete: false
    max_length: 10
    max_length_bytes: 1000
    overflow: reject-publish
    message_ttl: 5s
    expires: 1h
    dead_letter: { exchange: spill }
    dead_letter_strategy: at-most-once
    delivery_limit: 5
    initial_group_size: 3
    leader_locator: balanced
    max_priority: 5
    single_active_consumer: true
    max_age: 1d
    arguments: {}
    external: true
    bindings: [{ exchange: events, key: order.created }]
bindings:
  - { exchange: events, to_exchange: spill }
policies:
  limits:
    pattern: "^orders$"
    apply_to: queues
    priority: 1
    definition: { max-length: 5 }
services:
  shipping:
    consumes: { exchange: events, keys: [order.paid] }
    emits: [{ exchange: events, keys: [order.shipped], delay: 5s }]
    retry: { delays: [5s] }
    prefetch: 10
    concurrency: 2
    user: shipping
    handler: { exec: [./ship.sh] }
    queue: shipping
    queue_settings: { max_length: 100 }
users:
  shipping:
    password_env: WARREN_PASSWORD_SHIPPING
    tags: []
ignore: ["^tmp\\\\."]
"""
HOVER_SECTIONS = ["version", "vhost", "defaults", "exchanges", "queues", "bindings",
                  "policies", "services", "users", "ignore"]


def install() -> pathlib.Path:
    server = CACHE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    if not server.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        f"yaml-language-server@{VERSION}"], cwd=CACHE, check=True)
    return server


class Server:
    """A yaml-language-server process, spoken to in LSP over stdio."""

    def __init__(self, path: pathlib.Path, schema_uri: str):
        self.proc = subprocess.Popen(["node", str(path), "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.settings = {}
        self.responses = {}
        self.diagnostics = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"processId": os.getpid(), "rootUri": ROOT.as_uri(),
                                    "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}}}})
        self.notify("initialized", {})
        self.settings = {"yaml": {
            "validate": True, "hover": True, "completion": True,
            "schemas": {schema_uri: ["*.yaml", "*.yml"]},
            "schemaStore": {"enable": False}}}
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            length = int(re.search(rb"Content-Length: (\d+)", header).group(1))
            message = json.loads(out.read(length))
            with self.cond:
                if "id" in message and "method" not in message:
                    self.responses[message["id"]] = message
                elif message.get("method") == "textDocument/publishDiagnostics":
                    params = message["params"]
                    self.diagnostics[params["uri"]] = params["diagnostics"]
                elif "id" in message:
                    # Requests from the server (configuration, registration).
                    result = None
                    if message.get("method") == "workspace/configuration":
                        result = [self._section(item.get("section", ""))
                                  for item in message["params"]["items"]]
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
                self.cond.notify_all()

    def _section(self, section: str):
        value = self.settings
        for part in filter(None, section.split(".")):
            value = value.get(part, {}) if isinstance(value, dict) else {}
        return value

    def request(self, method: str, params: dict, timeout: float = 30):
        self.next_id += 1
        rid = self.next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.cond:
            if not self.cond.wait_for(lambda: rid in self.responses, timeout):
                raise TimeoutError(method)
            return self.responses.pop(rid).get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def open(self, uri: str, text: str) -> None:
        with self.cond:
            self.diagnostics.pop(uri, None)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": text}})

    def diagnostics_of(self, uri: str, text: str, timeout: float = 30) -> list:
        self.open(uri, text)
        with self.cond:
            if not self.cond.wait_for(lambda: uri in self.diagnostics, timeout):
                raise TimeoutError(f"no diagnostics for {uri}")
            return self.diagnostics[uri]

    def close(self) -> None:
        try:
            self.request("shutdown", {}, timeout=5)
            self.notify("exit", {})
        except (TimeoutError, BrokenPipeError):
            pass
        self.proc.kill()


def main() -> int:
    server = Server(install(), (ROOT / "schemas" / "warren.schema.json").as_uri())
    failures = []
    try:
        valid = sorted(ROOT.glob("topologies/*.yaml")) + sorted(ROOT.glob("tests/fixtures/plan/*.yaml"))
        for path in valid:
            found = server.diagnostics_of(path.as_uri(), path.read_text())
            if found:
                failures.append(f"false positive in {path.relative_to(ROOT)}: "
                                + "; ".join(d["message"] for d in found))
        print(f"editor: {len(valid)} valid specs, "
              f"{sum(1 for f in failures if f.startswith('false'))} with diagnostics")

        errors = sorted(p for p in (ROOT / "tests" / "broken").glob("E*.yaml"))
        flagged, missed = [], []
        for path in errors:
            found = server.diagnostics_of(path.as_uri(), path.read_text())
            (flagged if found else missed).append(path.name)
        print(f"editor: flags {len(flagged)} of {len(errors)} error files in tests/broken")
        for name in missed:
            reason = NOT_EXPRESSIBLE.get(name)
            print(f"  not flagged: {name}" + (f" ({reason})" if reason else ""))
            if reason is None:
                failures.append(f"{name} is not flagged and not listed as beyond a schema")
        for name in flagged:
            if name in NOT_EXPRESSIBLE:
                print(f"  flagged although listed as beyond a schema: {name}")
        if len(flagged) < MIN_FLAGGED:
            failures.append(f"only {len(flagged)} error files flagged, {MIN_FLAGGED} expected")

        hover_uri = (CACHE / "hover.yaml").as_uri()
        server.open(hover_uri, HOVER_SPEC)
        lines = HOVER_SPEC.splitlines()
        fields = [(lines.index(next(l for l in lines if l.startswith(name + ":"))), 0, name)
                  for name in HOVER_SECTIONS]
        # Every field of the first exchange, queue and service (4 spaces in).
        for section in ("exchanges", "queues", "services"):
            start = lines.index(f"{section}:") + 2
            for row in range(start, len(lines)):
                if not lines[row].startswith("    "):
                    break
                fields.append((row, 4, f"{section}.{lines[row].split(':')[0].strip()}"))
        texts = {}
        for row, indent, name in fields:
            result = server.request("textDocument/hover", {
                "textDocument": {"uri": hover_uri},
                "position": {"line": row, "character": indent + 1}})
            text = ""
            if result:
                contents = result["contents"]
                text = contents["value"] if isinstance(contents, dict) else str(contents)
            # The heading is the title and the last line the schema's file:
            # what is left is the field's own description.
            own = "\n".join(l for l in text.splitlines()
                             if not l.startswith("#") and not l.startswith("Source:")).strip()
            if not own:
                failures.append(f"no hover text on {name}")
                continue
            if re.search(r"[A-Z][a-z]+Spec\b|OneOrMany|Spanned|\\n", text):
                failures.append(f"hover on {name} shows a Rust type name or a raw line break: {text!r}")
            field = name.split(".")[-1]
            other = texts.get(own)
            if other is not None and other.split(".")[-1] != field:
                failures.append(f"{name} and {other} show the same text: {own[:60]!r}")
            texts.setdefault(own, name)
        print(f"editor: hover text on {len(fields)} fields checked")
    finally:
        server.close()
    for failure in failures:
        print(f"editor check failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
