"""Tests of the QR rendering core (services/links/qr)."""
