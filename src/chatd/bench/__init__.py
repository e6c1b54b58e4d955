"""`chatd bench`: the load generator that measures a chatd server against the Python floor."""
