"""The wire: pydantic models of every request and answer triserve takes and gives (compare,
OpenAI, Responses, votes) and the sampling parameters' bounds. What the SDK (`clients/`) imports;
it imports nothing of the server stack (no ray, torch, fastapi or engines), and
tests/test_layout.py holds it to that."""
