"""``shortener``: the command line for operators and for moving links in and out
(``python -m cli --help``)."""
