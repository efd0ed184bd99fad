"""Code every process uses: settings, Postgres, Redis and AMQP helpers, events,
the JSON error envelope, pagination, the internal identity header, logging and
the operational endpoints."""
