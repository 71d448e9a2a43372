"""The main comparisons as PNGs under benchmarks/plots/, referenced from BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine

import matplotlib.pyplot as plt

from benchmarks import http, ledger, scaling

DIRECTORY = Path(__file__).with_name("plots")


def _save(fig: plt.Figure, name: str) -> str:
    DIRECTORY.mkdir(exist_ok=True)
    path = DIRECTORY / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"benchmarks/plots/{name}"


def ledger_throughput(rows: list[ledger.Row]) -> str:
    """Transfers/s and p99 against client threads, each contender a line."""
    fig, (rate, p99) = plt.subplots(1, 2, figsize=(11, 4))
    for contender in dict.fromkeys(r.contender for r in rows):
        mine = [r for r in rows if r.contender == contender and r.case == "uniform"]
        clients = [r.clients for r in mine]
        rate.plot(clients, [r.result.rate for r in mine], marker="o", label=contender)
        p99.plot(clients, [r.result.percentile(99) for r in mine], marker="o", label=contender)
    for ax, title, unit in ((rate, "throughput", "transfers/s"), (p99, "p99 latency", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(
            sorted({r.clients for r in rows}), [str(c) for c in sorted({r.clients for r in rows})]
        )
        ax.set_xlabel("client threads")
        ax.set_ylabel(unit)
        ax.set_title(f"Ledger {title}, 1,000 wallets")
        ax.grid(alpha=0.3)
    p99.set_yscale("log")
    p99.axhline(50, color="grey", linestyle="--", linewidth=1, label="p99 target 50 ms")
    rate.legend(fontsize=8)
    p99.legend(fontsize=8)
    return _save(fig, "ledger_throughput.png")


def http_rates(rows: list[http.Row]) -> str:
    """Each route's share of the bare app's requests/s, per worker count, with its target."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ours = [r for r in rows if r.contender == http.OURS]
    workers = sorted({r.workers for r in ours})
    width = 0.8 / len(workers)
    for i, n in enumerate(workers):
        shares = [next(r.share for r in ours if r.route == route and r.workers == n)
                  for route in http.ROUTES]  # fmt: skip
        xs = [x + (i - (len(workers) - 1) / 2) * width for x in range(len(http.ROUTES))]
        ax.bar(xs, shares, width, label=f"{n} worker(s)")
    for x, route in enumerate(http.ROUTES):
        target = http.TARGETS[route]
        ax.hlines(target, x - 0.45, x + 0.45, colors="black", linestyles="--", linewidth=1)
    labels = [route.replace("/api/v1", "").replace(" ", "\n", 1) for route in http.ROUTES]
    ax.set_xticks(range(len(http.ROUTES)), labels, fontsize=8)
    ax.set_ylabel("share of the bare Flask app's requests/s")
    ax.set_title("bitnexus serve against a bare Flask app (dashed: target)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, "http.png")


def writers(rows: list[ledger.Writers]) -> str:
    """Total transfers/s against writer processes on one database."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([str(w.processes) for w in rows], [w.rate for w in rows], color="tab:blue")
    ax.axhline(rows[0].rate, color="grey", linestyle="--", linewidth=1, label="one process")
    ax.set_xlabel("writer processes (32 client threads in all)")
    ax.set_ylabel("transfers/s in all")
    ax.set_title("Ledger writers on one database")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, "ledger_writers.png")


def during_verify(d: ledger.DuringVerify) -> str:
    """Transfers/s per round alone and while a full verify_chain runs."""
    fig, ax = plt.subplots(figsize=(6, 4))
    rounds = range(1, len(d.alone) + 1)
    ax.bar([r - 0.2 for r in rounds], [x.rate for x in d.alone], 0.4, label="alone")
    ax.bar([r + 0.2 for r in rounds], [x.rate for x in d.during], 0.4, label="during verify_chain")
    ax.set_xticks(list(rounds), [f"round {r}" for r in rounds])
    ax.set_ylabel("transfers/s (32 threads)")
    ax.set_title("Ledger writes while the whole chain is verified")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, "ledger_during_verify.png")


def scaling_times(points: list[scaling.Point]) -> str:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sizes = [p.transactions for p in points]
    for name in points[0].op_ms:
        ax.plot(sizes, [p.op_ms[name][0] for p in points], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("transactions in the ledger")
    ax.set_ylabel("median ms per call")
    ax.set_title("Ledger operations against ledger size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, "scaling.png")
