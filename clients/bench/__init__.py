"""Load testing: what `triserve bench` runs (its command line is clients/cli/bench.py) and the
Locust file.

- `prompts.py`: the prompt set (the study's probes, a file, or synthetic prompts).
- `targets.py`: one timed streaming request to a route.
- `load.py`: closed-loop and open-loop (Poisson) load levels.
- `stats.py`: the reported numbers (TTFT, TPOT, ITL, E2E, goodput) and the one `percentile`.
- `report.py`: the live progress, the summary table and the plots.
- `locustfile.py`: `locust -f clients/bench/locustfile.py --host http://127.0.0.1:8000`.
"""
