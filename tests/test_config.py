"""Configuration: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitnexus.config import Config, ConfigError


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'bitnexus.db'}"
    assert (config.accounts_pool_size, config.products_pool_size) == (4, 4)
    assert (config.ledger_batch_max, config.ledger_verify_tail) == (256, 100)
    assert config.call_timeout == 5.0
    assert dict(config.currencies) == {"EUR": 2, "USD": 2, "NXC": 8}
    assert config.secret_key is None and config.admin_token is None
    assert not (tmp_path / "var").exists()  # reading config creates nothing


def test_values_from_the_environment():
    config = Config.from_env(
        {
            "BITNEXUS_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "BITNEXUS_DB_POOL_SIZE": "3",
            "BITNEXUS_DB_MAX_OVERFLOW": "0",
            "BITNEXUS_ACCOUNTS_POOL": "2",
            "BITNEXUS_PRODUCTS_POOL": "6",
            "BITNEXUS_LEDGER_BATCH_MAX": "64",
            "BITNEXUS_LEDGER_VERIFY_TAIL": "0",
            "BITNEXUS_CALL_TIMEOUT": "2.5",
            "BITNEXUS_CURRENCIES": "EUR:2, JPY:0",
            "BITNEXUS_ARGON2_TIME_COST": "2",
            "BITNEXUS_SECRET_KEY": "s3cret",
            "BITNEXUS_ADMIN_TOKEN": "",
        }
    )
    assert config.database_url == "postgresql+psycopg://u@h/db"
    assert (config.db_pool_size, config.db_max_overflow) == (3, 0)
    assert (config.accounts_pool_size, config.products_pool_size) == (2, 6)
    assert (config.ledger_batch_max, config.ledger_verify_tail) == (64, 0)
    assert config.call_timeout == 2.5
    assert dict(config.currencies) == {"EUR": 2, "JPY": 0}
    assert config.argon2_time_cost == 2
    assert config.secret_key == "s3cret" and config.admin_token is None
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    "name, value",
    [
        ("BITNEXUS_ACCOUNTS_POOL", "0"),
        ("BITNEXUS_PRODUCTS_POOL", "many"),
        ("BITNEXUS_DB_POOL_SIZE", "-1"),
        ("BITNEXUS_LEDGER_BATCH_MAX", "1.5"),
        ("BITNEXUS_CALL_TIMEOUT", "0"),
        ("BITNEXUS_CALL_TIMEOUT", "nan"),
        ("BITNEXUS_CURRENCIES", "EUR"),
        ("BITNEXUS_CURRENCIES", "eur:2"),
        ("BITNEXUS_CURRENCIES", "EUR:9"),
        ("BITNEXUS_ARGON2_MEMORY_COST", "lots"),
    ],
)
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_sqlite_directory_is_created_on_first_use(tmp_path):
    from bitnexus.database.engine import make_engine

    path = tmp_path / "nested" / "var" / "app.db"
    engine = make_engine(Config.from_env({"BITNEXUS_DATABASE_URL": f"sqlite:///{path}"}))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        engine.dispose()
    assert Path(path).exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:pw@db.example:5433/app", "postgresql+psycopg://u:pw@db.example:5433/app"),
        ("postgresql://u@h/app", "postgresql+psycopg://u@h/app"),
        ("postgresql+psycopg://u@h/app", "postgresql+psycopg://u@h/app"),
        ("sqlite:////srv/app.db", "sqlite:////srv/app.db"),
    ],
)
def test_postgres_urls_mean_psycopg(given, expected):
    assert Config.from_env({"DATABASE_URL": given}).database_url == expected


def test_conventional_names_are_read_when_the_bitnexus_ones_are_unset():
    conventional = {
        "DATABASE_URL": "postgres://u@h/conventional",
        "PORT": "4001",
        "HOST": "0.0.0.0",
        "SECRET_KEY_BASE": "phoenix-secret",
    }
    config = Config.from_env(conventional)
    assert config.database_url == "postgresql+psycopg://u@h/conventional"
    assert (config.host, config.port, config.secret_key) == ("0.0.0.0", 4001, "phoenix-secret")
    ours = {
        "BITNEXUS_DATABASE_URL": "sqlite:////srv/ours.db",
        "BITNEXUS_PORT": "4002",
        "BITNEXUS_HOST": "::1",
        "BITNEXUS_SECRET_KEY": "ours",
    }
    config = Config.from_env({**conventional, **ours})
    assert config.database_url == "sqlite:////srv/ours.db"
    assert (config.host, config.port, config.secret_key) == ("::1", 4002, "ours")


@pytest.mark.parametrize("value", ["0", "99999", "http"])
def test_a_bad_port_names_the_variable(value):
    with pytest.raises(ConfigError, match="PORT="):
        Config.from_env({"PORT": value})


def test_only_config_reads_the_environment():
    """bitnexus/config.py is the one module that reads os.environ or getenv."""
    root = Path(__file__).resolve().parents[1]
    readers = {
        str(path.relative_to(root))
        for package in ("bitnexus", "actors", "web", "supervisors")
        for path in (root / package).rglob("*.py")
        if "os.environ" in path.read_text() or "getenv" in path.read_text()
    }
    # The CLI sets prometheus_client's directory for its workers; it reads nothing. The
    # pytest plugin reads its own BITNEXUS_TEST_DATABASE_URL: a test setting, not the app's.
    assert readers <= {"bitnexus/config.py", "bitnexus/cli.py", "bitnexus/testing.py"}
    cli = (root / "bitnexus" / "cli.py").read_text()
    assert "os.environ[" in cli and "os.environ.get" not in cli and "getenv" not in cli
