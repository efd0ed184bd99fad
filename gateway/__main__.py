"""``python -m gateway``."""

from gateway.app import create_app
from shared.service import serve

if __name__ == "__main__":
    serve(create_app, name="gateway", port=lambda s: s.gateway_port)
