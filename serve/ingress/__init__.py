"""The HTTP front, one Ray Serve deployment (`deployment.Ingress`): the routes (compare, OpenAI,
Responses, votes, the page), API keys and limits (`auth`, `guard`), a role and its caps (`roles`),
the client of a role's replicas (`role_client`, with `availability`), the one fan-out
(`fanout`), and errors made ours (`ray_errors`) and rendered as HTTP (`http_errors`). It never
imports an engine or the replica's code: it reaches the models only through their deployment
handles, calling what `serve.generation.ModelReplica` declares (tests/test_layout.py,
tests/server/test_replica_protocol.py)."""
