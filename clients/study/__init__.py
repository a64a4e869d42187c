"""The comparison study as code: probes from a YAML file, run against every role, reported.

    from clients import Client
    from clients.study import load_probes, run_study, write_reports
    study = run_study(Client(), load_probes(), samples=3)
    write_reports(study, Path("study-report"))     # report.md, report.html, results.json

The command line does the same: `triserve study --samples 3 --out study-report`.
"""

from clients.study.checks import Check, Context
from clients.study.probes import Probe, ProbeFileError, load_probes
from clients.study.report import write_reports
from clients.study.runner import Sample, Study, run_study, score

__all__ = ["Check", "Context", "Probe", "ProbeFileError", "Sample", "Study", "load_probes",
           "run_study", "score", "write_reports"]
