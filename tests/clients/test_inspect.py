"""inspect-ai (UK AISI's evaluation framework) driving the three roles as three models of one
OpenAI-compatible provider (`openai-api/triserve/<role>`), with a model-graded scorer whose
grader is the instruct role: `inspect eval` as its users compare models, on a task this test
writes. Each role's run must finish, be graded by the grader, and report its metric."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import read_eval_log

TASK = '''\
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig, ResponseSchema, get_model
from inspect_ai.scorer import model_graded_qa
from inspect_ai.solver import generate
from inspect_ai.util import JSONSchema

# A small grader is held to the grade's shape (structured output), as users of small judges do:
# its answer always carries the "GRADE: C" or "GRADE: I" that model_graded_qa reads.
GRADE = ResponseSchema(name="grade", json_schema=JSONSchema(
    type="object", properties={"grade": JSONSchema(enum=["GRADE: C", "GRADE: I"])},
    required=["grade"], additionalProperties=False))


TEMPLATE = "Q: {question}\\nA: {answer}\\nExpert: {criterion}\\n{instructions}"


@task
def capitals():
    grader = get_model("openai-api/triserve/instruct",
                       config=GenerateConfig(response_schema=GRADE, max_tokens=24))
    return Task(
        dataset=[Sample(input="What is the capital of France?", target="Paris"),
                 Sample(input="Which is larger, 9.11 or 9.8?", target="9.8")],
        solver=generate(),
        # A short grading prompt: the tiny roles take 256 prompt tokens.
        scorer=model_graded_qa(model=grader, template=TEMPLATE, instructions="GRADE: C or I?"),
    )
'''
ROLES = ["base", "instruct", "reasoning"]


def test_inspect_eval_compares_the_three_roles_with_a_model_graded_scorer(tiny_app, tmp_path):
    (tmp_path / "capitals.py").write_text(TASK)
    logs = tmp_path / "logs"
    models = ",".join(f"openai-api/triserve/{role}" for role in ROLES)
    env = {**os.environ, "TRISERVE_BASE_URL": f"{tiny_app}/v1", "TRISERVE_API_KEY": "unused",
           "INSPECT_LOG_DIR": str(logs)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "inspect"), "eval", "capitals.py", "--model", models,
         "--max-tokens", "12", "--temperature", "0", "--display", "plain", "--log-format", "json",
         "--max-connections", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = {log.eval.model: log for log in map(read_eval_log, sorted(logs.glob("*.json")))}
    assert set(runs) == {f"openai-api/triserve/{role}" for role in ROLES}
    for model, log in runs.items():
        assert log.status == "success", (model, log.error)
        assert len(log.samples) == 2 and all(s.output.completion is not None for s in log.samples)
        # Every answer went to the grader (the instruct role), whose held answer carries a grade.
        for sample in log.samples:
            [grade] = sample.scores.values()
            assert grade.value in ("C", "I") and "GRADE: " in grade.explanation, grade
        [score] = log.results.scores
        assert 0.0 <= score.metrics["accuracy"].value <= 1.0
