"""One OS process with its own application tree on the shared database, answering
transaction requests read from stdin, one JSON line each:

    python tests/ledger_process.py < {"user_id": 1, "attrs": {...}} ...
    > "ready", then {"id": transaction id, "replay": bool} or {"error": "..."} per line

The database and settings come from the BITNEXUS_* environment.
"""

from __future__ import annotations

import json
import sys

from actors import transactions
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.tree import application_spec
from supervisors import Rejected, start_tree

TIMEOUT = 30.0


def main() -> None:
    config = Config.from_env()
    engine = make_engine(config)
    tree = start_tree(application_spec(config, engine))
    try:
        print(json.dumps("ready"), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            try:
                tx = transactions.create_transaction(**request, timeout=TIMEOUT)
                answer = {"id": tx.id, "replay": tx.replayed}
            except Rejected as exc:
                answer = {"error": repr(exc)}
            print(json.dumps(answer), flush=True)
    finally:
        tree.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
