"""``python -m services.webhooks``: run the webhooks API service."""

from services.webhooks.app import create_app
from shared.service import serve

if __name__ == "__main__":
    serve(create_app, name="webhooks", port=lambda s: s.webhooks_port)
