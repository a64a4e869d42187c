"""`import clients` stays light: the SDK and the CLI never pull in ray or torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_sdk_and_cli_loads_neither_ray_nor_torch():
    code = ("import sys, clients, clients.cli, clients.study; "
            "heavy = {'ray', 'torch', 'transformers'}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
