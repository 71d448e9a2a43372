"""One OS process with its own application tree on the shared database, answering
transaction requests read from stdin, one JSON line each, and reporting what PubSub
delivers here on the topics named as arguments:

    python tests/ledger_process.py [TOPIC ...] < {"user_id": 1, "attrs": {...}} ...
    > "ready", then {"id": transaction id, "replay": bool} or {"error": "..."} per line,
      and {"delivered": [topic, event, payload]} per message delivered, as it comes

The database and settings come from the BITNEXUS_* environment.
"""

from __future__ import annotations

import json
import sys
import threading

from actors import pubsub, transactions
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.tree import application_spec
from supervisors import Rejected, start_tree

TIMEOUT = 30.0
_printing = threading.Lock()  # answers and deliveries come from two threads


def say(value: object) -> None:
    with _printing:
        print(json.dumps(value), flush=True)


def report(inbox: pubsub.Mailbox, stop: threading.Event) -> None:
    while not stop.is_set():
        got = inbox.get(0.1)
        if isinstance(got, pubsub.Delivered):
            say({"delivered": [got.topic, got.event, got.payload]})


def main() -> None:
    config = Config.from_env()
    engine = make_engine(config)
    tree = start_tree(application_spec(config, engine))
    inbox, stop = pubsub.Mailbox(), threading.Event()
    reporter = threading.Thread(target=report, args=(inbox, stop))
    try:
        for topic in sys.argv[1:]:
            pubsub.subscribe(topic, inbox)
        reporter.start()
        say("ready")
        for line in sys.stdin:
            request = json.loads(line)
            try:
                tx = transactions.create_transaction(**request, timeout=TIMEOUT)
                answer = {"id": tx.id, "replay": tx.replayed}
            except Rejected as exc:
                answer = {"error": repr(exc)}
            say(answer)
    finally:
        stop.set()
        if reporter.is_alive():
            reporter.join()
        tree.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
