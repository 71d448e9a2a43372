"""The application's supervised actors (services)."""
