"""The judge's records, apart from the judge that makes them (judge.py) so that the study's
records (runner.py) can hold them without importing the judge: one call's `Verdict`, a `Pair`
judged in both orders, and a study's whole `Judging`. The scoring rule is judge.py's opening
comment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Verdict:
    """One judge call: `first`'s answer shown as A, `second`'s as B (labels: roles, or
    `reasoning@256` for a budget run). `verdict` is None when the call failed (`failure` says
    why); `raw` is the judge's answer text (its content), kept for the report."""

    probe: str
    index: int
    first: str
    second: str
    verdict: str | None = None
    raw: str = ""
    failure: str | None = None

    def score_for(self, label: str) -> float | None:
        """1 if `label`'s answer won this call, 0.5 for a tie, 0 if it lost; None if failed."""
        if self.verdict is None:
            return None
        if self.verdict == "TIE":
            return 0.5
        return 1.0 if (self.first if self.verdict == "A" else self.second) == label else 0.0


@dataclass
class Pair:
    """Answers of `x` and `y` to one probe's sample, judged in both orders (x as A, then y)."""

    probe: str
    index: int
    x: str
    y: str
    orders: tuple[Verdict, Verdict]

    def score_for(self, label: str) -> float | None:
        """The mean of both orders' scores for `label` (see the module's rule); None if either
        order failed."""
        scores = [v.score_for(label) for v in self.orders]
        return None if None in scores else sum(scores) / 2

    @property
    def agree(self) -> bool:
        """Did both orders name the same winner (or both a tie)?"""
        a, b = self.orders
        return a.verdict is not None and b.verdict is not None and \
            a.score_for(self.x) == b.score_for(self.x)


@dataclass
class Judging:
    """All the judge's verdicts of one study. `pairs`: the roles against each other;
    `budget_pairs`: each thinking budget's answers against `reference`'s answers."""

    judge: str
    pairs: list[Pair] = field(default_factory=list)
    budget_pairs: dict[int, list[Pair]] = field(default_factory=dict)
    reference: str | None = None
    skipped: int = 0  # pairs not judged because one of the answers failed
    duration_s: float = 0.0

    @property
    def verdicts(self) -> list[Verdict]:
        every = self.pairs + [p for ps in self.budget_pairs.values() for p in ps]
        return [v for p in every for v in p.orders]

    @property
    def failures(self) -> int:
        return sum(v.verdict is None for v in self.verdicts)

    def unit_scores(self, label: str, pairs: list[Pair] | None = None,
                    against: str | None = None) -> list[tuple[str, float]]:
        """(probe, score) per probe sample: the mean of `label`'s pair scores in that sample
        (against one label only with `against`); samples with no judged pair are left out."""
        units: dict[tuple[str, int], list[float]] = {}
        for p in self.pairs if pairs is None else pairs:
            if label not in (p.x, p.y) or (against is not None and against not in (p.x, p.y)):
                continue
            score = p.score_for(label)
            if score is not None:
                units.setdefault((p.probe, p.index), []).append(score)
        return [(probe, sum(s) / len(s)) for (probe, _), s in sorted(units.items())]
