"""Growth: the funnel before and around the customer (issue 13, docs/growth.md).

A package of its own (not inside vitals.core) because it is a second, independent fold over the
same `events`: its state, its facts and its projection never touch the customer scoring state, so
either can change without the other. Pure modules (config, state, fold, funnel, groups, facts,
report, sequential, experiments) import neither Kafka nor Redis; ``projection`` is the Redis
plumbing and ``processor`` the Faust-free record loop used by the growth worker (`vitals growth`).
"""
