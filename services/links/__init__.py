"""The links service."""
