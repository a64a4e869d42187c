"""The comparison study as code: probes from a YAML file, run against every role, measured with
bootstrap intervals, optionally judged pairwise and run at several thinking budgets, reported.

    from clients import Client
    from clients.study import Judge, judge_study, load_probes, run_budgets, run_study, write_reports
    client = Client()
    study = run_study(client, load_probes(), samples=10)
    run_budgets(client, study, [0, 256, 1024])                 # the reasoning role at each budget
    study.judging = judge_study(Judge(client, "instruct"), study)
    write_reports(study, Path("study-report"))     # report.md, report.html, results.json

The command line does the same: `triserve study -n 10 --judge instruct --thinking-budgets 0,256,1024`.
"""

from clients.study.budgets import run_budgets
from clients.study.checks import Check, Context
from clients.study.continuation import continuation
from clients.study.judge import Judge, judge_study, parse_verdict
from clients.study.probes import Probe, ProbeFileError, load_probes
from clients.study.report import write_reports
from clients.study.runner import Sample, Study, run_study, score
from clients.study.stats import Interval, bootstrap

__all__ = ["Check", "Context", "Interval", "Judge", "Probe", "ProbeFileError", "Sample", "Study",
           "bootstrap", "continuation", "judge_study", "load_probes", "parse_verdict",
           "run_budgets", "run_study", "score", "write_reports"]
