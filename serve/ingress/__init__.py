"""The HTTP front, one Ray Serve deployment (`deployment.Ingress`): the routes (compare, OpenAI,
Responses, votes, the page), API keys and limits (`auth`, `guard`), the one error mapper
(`http_errors`), the fan-out to the roles (`compare`), and the client of a role's replicas
(`role_client`, with `availability`). It never imports an engine or the replica's code: it
reaches the models only through their deployment handles (tests/test_layout.py)."""
