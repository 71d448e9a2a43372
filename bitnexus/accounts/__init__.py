"""Accounts: users, passwords and administrators."""

from bitnexus.accounts.admins import create_or_promote
from bitnexus.accounts.passwords import Passwords
from bitnexus.accounts.sessions import Session, Sessions
from bitnexus.accounts.users import EMAIL_FORMAT, EMAIL_MAX, NAME_MAX, PASSWORD_MIN, User, Users
from bitnexus.database.schema import USER_ROLES as ROLES

__all__ = [
    "EMAIL_FORMAT",
    "EMAIL_MAX",
    "NAME_MAX",
    "PASSWORD_MIN",
    "ROLES",
    "Passwords",
    "Session",
    "Sessions",
    "User",
    "Users",
    "create_or_promote",
]
