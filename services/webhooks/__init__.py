"""Webhooks: users register HTTPS endpoints for link and click events; each event
is delivered signed, retried with backoff from a Postgres schedule for a day,
and logged. The API (``python -m services.webhooks``) manages endpoints; the
delivery process (``python -m services.webhooks.delivery``) consumes the
events and sends them."""
