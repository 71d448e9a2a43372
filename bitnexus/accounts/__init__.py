"""Accounts: users, passwords and administrators."""

from bitnexus.accounts.admins import create_or_promote
from bitnexus.accounts.passwords import Passwords
from bitnexus.accounts.users import User, Users
from bitnexus.database.schema import USER_ROLES as ROLES

__all__ = ["ROLES", "Passwords", "User", "Users", "create_or_promote"]
