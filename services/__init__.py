"""The internal services behind the gateway: accounts, links (with the edge) and analytics."""
