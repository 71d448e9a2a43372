"""BitNexus: a marketplace-and-ledger backend as an OTP-style actor system."""

__version__ = "0.1.0"
