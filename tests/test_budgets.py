"""The suite's time limits follow its fixtures' start budgets (tests/budgets.py): a small suite
run by pytester, where a fixture declares 40 s and the default limit is 300 s."""

from __future__ import annotations

import pytest

from budgets import extra_timeout_s, start_budget

BUDGETS = str(__import__("budgets").__file__)


def test_a_test_gets_its_fixtures_start_budgets_on_top_of_its_limit(pytester):
    pytester.makeini("[pytest]\ntimeout = 300\n")
    pytester.makeconftest(f"""
import importlib.util, pytest
spec = importlib.util.spec_from_file_location("budgets", {BUDGETS!r})
budgets = importlib.util.module_from_spec(spec); spec.loader.exec_module(budgets)
pytest_collection_modifyitems = budgets.apply_budgets
SLOW_S = budgets.start_budget("slow_server", 40)

@pytest.fixture(scope="session")
def slow_server():
    return "up"

@pytest.fixture
def uses_it(slow_server):
    return slow_server
""")
    pytester.makepyfile("""
import pytest

def limit(request):
    return request.node.get_closest_marker("timeout").args[0]

def test_direct(slow_server, request):
    assert limit(request) == 340

def test_through_another_fixture(uses_it, request):
    assert limit(request) == 340

@pytest.mark.timeout(600)
def test_own_mark(slow_server, request):
    assert limit(request) == 640

def test_none(request):
    assert request.node.get_closest_marker("timeout") is None
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)


def test_budgets_add_up_and_one_name_has_one_budget():
    start_budget("budget_test_a", 10)
    start_budget("budget_test_b", 5)
    assert extra_timeout_s(["budget_test_a", "budget_test_b", "other"]) == 15
    assert start_budget("budget_test_a", 10) == 10
    with pytest.raises(ValueError, match="two start budgets"):
        start_budget("budget_test_a", 11)
