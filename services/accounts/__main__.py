"""``python -m services.accounts``: run the accounts service."""

from services.accounts.app import create_app
from shared.service import serve

if __name__ == "__main__":
    serve(create_app, name="accounts", port=lambda s: s.accounts_port)
