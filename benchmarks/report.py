"""BENCHMARKS.md from one run's results: every table with its command, target and verdict."""

from __future__ import annotations

from benchmarks import calls, http, ledger, memory, scaling

COMMAND = "make bench"
FLAT = 2.0  # "flat": at most this factor between the smallest and the largest ledger


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _ledger_targets(rows: list[ledger.Row]) -> str:
    at32 = {r.contender: r.result for r in rows if r.case == "uniform" and r.clients == 32}
    actor = at32["ledger actor"]
    plain, pgbench = at32["plain SQLAlchemy (a)"], at32["pgbench simple-update (b)"]
    return "\n".join(
        [
            f"- ≥ 3× baseline (a) at 32 threads: {actor.rate / plain.rate:.1f}× — "
            f"{_verdict(actor.rate >= 3 * plain.rate)}",
            f"- ≥ 1× pgbench (b) at 32 threads: {actor.rate / pgbench.rate:.2f}× — "
            f"{_verdict(actor.rate >= pgbench.rate)}",
            f"- p99 ≤ 50 ms at 32 threads: {actor.percentile(99):.1f} ms — "
            f"{_verdict(actor.percentile(99) <= 50)}",
        ]
    )


def _batch_note(drains: list[ledger.Drain]) -> str:
    by = {d.batch_max: d for d in drains}
    default, bigger = by[256], by[max(by)]
    return (
        "A closed loop of C callers never fills blocks beyond about C/2 (the table above: "
        "half the callers are in the block being committed while the others queue for the "
        "next), so the cap only matters under bursts and backlogs. There every queued "
        "caller waits for the blocks ahead of it, so the drain rate is what clears the "
        f"queue; the default of **256** drains at {default.rate:,.0f}/s with "
        f"{default.block_ms:.0f} ms per block, {max(by)} at {bigger.rate:,.0f}/s with "
        f"{bigger.block_ms:.0f} ms per block: past 256 the rate gains little (a transfer's "
        "own work dominates a block's fixed cost) while one block holds its callers far "
        "longer. 256 stays the default."
    )


def _http_targets(rows: list[http.Row]) -> str:
    lines = []
    for workers in sorted({r.workers for r in rows}):
        mine = {r.route: r for r in rows if r.workers == workers}
        health, post = mine["GET /health"], mine["POST /api/v1/transactions"]
        share = post.rate / health.rate
        errors = sum(r.non_2xx + r.socket_errors for r in mine.values())
        lines.append(
            f"- {workers} worker(s): transfers at {share:.0%} of the /health rate — "
            f"{_verdict(share >= 0.5)}; errors {errors} — {_verdict(errors == 0)}"
        )
    return "\n".join(lines)


def _scaling_targets(points: list[scaling.Point]) -> str:
    first, last = points[0], points[-1]
    lines = []
    for name in first.op_ms:
        factor = last.op_ms[name][0] / first.op_ms[name][0]
        lines.append(
            f"- {name}: ×{factor:.1f} from {first.transactions:,} to {last.transactions:,} "
            f"transactions — {'flat' if factor <= FLAT else 'grows'}"
        )
    return "\n".join(lines)


def document(
    *,
    when: str,
    machine: str,
    minutes: float,
    loads: dict[str, tuple[float, float]],
    call_rows: list[dict[str, object]],
    ledger_rows: list[ledger.Row],
    drains: list[ledger.Drain],
    http_rows: list[http.Row],
    points: list[scaling.Point],
    queued: memory.Queued,
    channels_md: str,
    figures: dict[str, str],
) -> str:
    busy = [name for name, (a, b) in loads.items() if max(a, b) > 1.5]
    load_lines = "\n".join(f"| {name} | {a:.2f} | {b:.2f} |" for name, (a, b) in loads.items())
    warning = (
        f"**The machine was busy** (1-minute load average above 1.5 around: "
        f"{', '.join(busy)}): other sessions' test suites shared the 2 cores, so absolute "
        "figures are low and noisy; the comparisons hold because each contender ran "
        "interleaved with its baseline in the same minutes."
        if busy
        else "The machine was otherwise idle (load average ≤ 1.5 throughout)."
    )
    idle = {r.workers: r.rss_idle_mib for r in http_rows if r.route == "GET /health"}
    sized = {p.transactions: p.rss_mib for p in points}
    return f"""# Benchmarks

Produced by `{COMMAND}` on {when} in {minutes:.1f} minutes.
Machine: {machine}.
Benchmarks are not tests: nothing here is asserted in `make test`. Each table compares
against its baseline measured in the same run; every section uses its own freshly created
PostgreSQL database (dropped afterwards) and holds the reliability drills' outage lock
(`/tmp/bitnexus-pg-outage.lock`) so no drill stops the server mid-measurement.

{warning}

| section | load average before | after |
| --- | ---: | ---: |
{load_lines}

## 1. Call overhead

`{COMMAND}` (section `benchmarks/calls.py`): {calls.CALLS:,} calls of each kind,
interleaved in {calls.ROUNDS} rounds; one echo actor, and a pool of four.
Target: a supervised call costs at most 1.2× a raw Pykka ask.

{calls.markdown(call_rows)}

A supervised call resolves the name, puts the message straight into the actor's inbox
with a one-shot lock as its reply slot (`supervisors/reply.py`), and waits with a
deadline. Pykka's own `ask` builds a `Condition`-based future, which costs more than the
whole of the runtime's bookkeeping, so the supervised call comes out below the baseline.

## 2. Ledger throughput

`{COMMAND}` (section `benchmarks/ledger.py`): C client threads in one process record
transfers of 0.01 EUR between random pairs of {ledger.WALLETS:,} funded wallets for
{ledger.SECONDS:.0f} s per point (after a 0.5 s warm-up), through `call("ledger",
Record(...))` — the actor group-commits whatever is queued, up to
`BITNEXUS_LEDGER_BATCH_MAX` (default 256), as one block in one database transaction.
Baselines on the same database, interleaved per client count: **(a)** a plain SQLAlchemy
ORM app, one session and transaction per transfer, both wallet rows `SELECT … FOR
UPDATE` in id order, balances updated and a transfer row inserted; **(b)** `pgbench`
running its simple-update script (`-N`: update one account, read it, insert a history row,
one commit) with the same client count — the database's per-commit ceiling here. The
baselines use at most {ledger.MAX_CONNECTIONS} connections (PostgreSQL allows 100 and other
sessions share it): at 128 clients they queue for a connection, as such an app would.
Hot-spot: {ledger.HOT_CLIENTS} threads over {ledger.HOT_WALLETS} wallets (pgbench over
its first {ledger.HOT_WALLETS} accounts). Block size = transfers per commit.

{ledger.markdown(ledger_rows)}

![ledger throughput]({figures["ledger"]})

Targets at 32 threads:
{_ledger_targets(ledger_rows)}

**Block size cap.** `BITNEXUS_LEDGER_BATCH_MAX` bounds a block. To see what a full block
costs, {ledger.BACKLOG:,} transfers were queued behind a held chain head and timed as they
drained, for each cap (section `run_batch_max` in `benchmarks/ledger.py`):

{ledger.markdown_batch_max(drains)}

{_batch_note(drains)}

## 3. End-to-end HTTP

`{COMMAND}` (section `benchmarks/http.py`): `bitnexus serve` (gunicorn, {http.THREADS}
threads per worker) on a fresh PostgreSQL database with {http.WALLETS:,} funded wallets;
`wrk -t1 -c{http.CONNECTIONS}` (its own process, keep-alive, `benchmarks/wrk.lua`) for
{http.SECONDS} s per run, {http.ROUNDS} rounds alternating `GET /health` (baseline: the
framework's own ceiling, which also pings the database) and `POST /api/v1/transactions`
(a transfer of 0.01 EUR to a random wallet, signed by the sender's JWT). Rates are totals
over the rounds; p50/p99 the worse round's. RSS: the workers' resident memory (arbiter
excluded), idle after start → after the load.

{http.markdown(http_rows)}

![HTTP]({figures["http"]})

Targets: transfers ≥ 50 % of the `/health` rate, no errors:
{_http_targets(http_rows)}

## 4. Scaling with data

`{COMMAND}` (section `benchmarks/scaling.py`): one database grown to each size in turn
with {scaling.WALLETS:,} wallets. The bulk is written by `benchmarks/generate.py` with
COPY: valid chained data (real canonical transaction hashes, Merkle roots, block links,
balances carried in every posting and stored on the accounts) in blocks of
{scaling.generate.BLOCK_SIZE} transfers, then `ANALYZE`; `verify_chain` accepts it (its
verdict is shown). Each operation is then called {scaling.SAMPLES} times through the
ledger actor, one caller at a time. Cells are median (p99) ms.

{scaling.markdown(points)}

![scaling]({figures["scaling"]})

{_scaling_targets(points)}

`verify_chain` walks every block, recomputing every transaction hash, Merkle root and
link, then sums every account's postings: linear in the ledger by design; its rate is
the figure above.

## 5. Memory

`{COMMAND}` (sections `benchmarks/http.py`, `benchmarks/memory.py`,
`benchmarks/scaling.py`). Queued messages: the ledger is held mid-block on the chain
head (locked from another connection) while {queued.messages:,} `Record` messages are
cast to it; each carries its reply slot, entry and postings.

{memory.markdown(queued, idle, sized)}

## 6. Channels

`{COMMAND}` (section `benchmarks/channels.py`, alone: `python -m benchmarks.channels`):
`bitnexus serve` with the official `phoenix` client under Node holding the sockets, each
joined to its user's `transaction:` topic; transfer rates by wrk as in section 3.

{channels_md}

{NOTES}
"""


NOTES = """## Notes: what was optimised, what stands in the way, defaults

**Optimisations** (each its own commit, its effect measured old against new, interleaved):

1. *One pipelined round trip for the head lock and the batch's reads, one for the block's
   writes* (`bitnexus/ledger/postgres.py`). The portable SQLAlchemy path sent every statement
   separately and every row of an executemany as its own statement: a block of 64
   transfers was ~330 statements. Now the head lock, the last id, the previous hash, the
   idempotency keys, the user and account locks go out in one psycopg pipeline, and the
   block, its transactions and postings (`INSERT … SELECT FROM unnest(…)`, one statement
   per table), the balances and the head in another. Same statements, order and locks.
   `record()` of a 64-transfer block: 27.5 / 17.2 ms → 15.0 / 11.1 / 10.8 ms; of one
   transfer: 8.0 / 3.4 → 3.3 / 2.0 / 2.6 ms.
2. *The COMMIT goes out with the block's writes* — one round trip fewer per block; the
   replies still leave only after the commit returned. Single-transfer block 2.9 / 2.0 /
   2.7 → 3.1 / 1.7 / 1.3 ms; larger blocks unchanged within noise.
3. *Canonical hashing*: one reused JSON encoder, exact-type checks first: 14.6 / 13.6 µs →
   12.7 / 12.8 µs per transaction hash, same bytes.
4. *Transactions pool sized to the request threads* (`BITNEXUS_TRANSACTIONS_POOL` 4 → 16).
   Each Transactions worker waits on the ledger while its transfer is in a block, so the
   pool capped the ledger's blocks at 4 over HTTP: 223 / 207 → 457 / 443 transfers/s over
   HTTP with 1 worker (8 workers: 285 / 338; 16 workers with 8 Accounts workers: no gain).
5. *History pages by one index range per account* (`ledger_queries._newest_postings`).
   The single query joined on the user let the planner walk every posting newest first
   and filter, so the first page grew with the ledger (3.9 ms at 10 k, 15.5 ms at 1 M in
   the first full run). Now each of the user's accounts is read on (account_id,
   transaction_id) and the ranges merged: at 1 M transactions 9.4 / 8.9 / 14.8 ms →
   0.53 / 0.53 / 0.62 ms median, same rows.

The ledger actor at 32 threads went from 1,337 transfers/s (p99 44 ms) before these
changes to about 2,900/s (p99 19 ms) in the same harness (different minutes of a busy
machine: load 5.9 before, 4.1 after), and at 128 threads from 512/s (p99 774 ms) to about
4,400/s (p99 60 ms).

Tried without a measurable gain: skipping the connection pool's pre-ping round trip for the
ledger's block (3 interleaved rounds at 32 threads: 1,636 / 2,096 / 2,146 with it, 1,899 /
2,122 / 1,891 without) — not worth holding a connection in the actor for.

**What stands in the way of 1× pgbench at 32 threads.** Profile:
`py-spy record --gil -r 250 -o ledger.svg -- .venv/bin/python -m benchmarks.profile 32`
(and without `--gil` for the waits). The ledger thread spends ~80 % of its samples in
`psycopg Connection.wait`: the database executing the block. A transfer is much more
database work than a pgbench transaction: one transaction row (three unique indexes),
two postings (two indexes), two balance updates and five foreign-key checks, against
pgbench's one update and one unindexed insert. `EXPLAIN ANALYZE` of one 256-transfer
block: transactions 3.4 ms (FK to the block 1.2 ms), postings 7.9 ms (FK checks 3.0 +
3.1 ms), balances ~2 ms — about 55 µs per transfer in the server, half of it FK checks.
On top come ~40–60 µs of Python per transfer in the ledger thread (canonical JSON and
SHA-256 hash ~13 µs, reply, Merkle root, the actor's drain and reply) and the callers'
own Python (the call ~25 µs, the entry), all under one GIL, on the same two cores as
PostgreSQL. The actor works one block at a time, so database and Python time add up
rather than overlap, and in a closed loop half of the callers are always waiting for
their reply rather than queued (block size C/2). pgbench, by contrast, runs 32 C
backends in parallel whose commits share WAL flushes. When the queue is deep the ledger
drains several thousand transfers/s (the block-size table above). Next steps, not done
here: prepare block N+1 while block N commits (two stages; correctness across a failed
commit needs care), make the posting FKs cheaper (e.g. drop the posting → transaction FK
in favour of the append-only trigger's guarantees — a schema decision), or move hashing
to the callers' threads.

**`verify(transaction)` grows with the ledger** (scaling table): the proof checks every
block header from the transaction's block up to the head (`ledger_verify._link_problem`),
so an old transaction costs a walk over all blocks after it; a recent one stays flat.
Making it flat needs trusted checkpoints (e.g. the verified head hash kept by the ledger,
or signed digests every N blocks, as QLDB did) — a change to what the proof means, left to
the ledger's owner.

**Defaults chosen.** `BITNEXUS_LEDGER_BATCH_MAX` = 256 (see the block-size table).
`BITNEXUS_TRANSACTIONS_POOL` = 16 = `bitnexus serve --threads` (one per request thread).
`BITNEXUS_ACCOUNTS_POOL` stays 4 (8 measured no better). The database pool stays 10 + 10
overflow per process: under transfer load the concurrent users are the ledger's one
connection, the Accounts workers' recipient lookups (4) and /health probes; the
Transactions workers only read for idempotent replays.
"""
