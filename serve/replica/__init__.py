"""The model deployment (`deployment.ModelServer`): one role's replica, which owns an engine and
turns its chunk stream into answers, with what it reads from a model's output per request
(`tool_calls`)."""
