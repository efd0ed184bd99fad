"""The API gateway: the only public door to ``/api``."""
