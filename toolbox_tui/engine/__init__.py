"""Access to the Docker engine and the user's `docker compose`.

`client` creates docker SDK clients the way the Docker CLI finds its endpoint (`context`:
DOCKER_HOST, docker contexts) and explains why an engine cannot be reached; `compose_cli` runs
`docker compose` in its machine-readable modes; `port_owners` and `proc_sockets` say who holds a
host port.

May import: the ground floor only.
"""
