"""Continuous batching for the HF engine: one decode loop per replica, which requests join at the
next step and leave the step they finish.

Each request (`stream`, from the replica's event loop) or group (`steps`, from a thread)
joins the running batch at the next decode step instead of waiting for the ones before it to
finish, so a replica under steady load keeps its batch full. When the loop is idle, the first
arrival waits up to `wait_s` for others, so that a burst is prefilled as one batch.

The running batch is left-padded: every row's KV cache ends at the same column. Rows that join
are prefilled together, then their cache (or the running one) is padded on the left to the longer
of the two and the two are stacked; decoding stays one forward pass for all rows, each with its
own positions and attention mask. A row that finishes is dropped from the cache at once, and
columns that no remaining row uses are cut from the left.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
import threading
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterator

import torch
import torch.nn.functional as F

from serve.engines.hf.model import LoadedModel
from serve.engines.hf.sampling import Pick, RowSampler, sample_next
from serve.engines.text import SequenceState
from serve.generation import Chunk, PreparedRequest


logger = logging.getLogger("triserve.engine")

_END = object()


class _Ticket:
    """One caller: its requests, and where the steps produced for them go. `put` takes a step
    list, an exception, or `_END`; it is called from the decode thread, or, when `loop` is set
    (a caller on an event loop), on that loop through `_Outbox`."""

    def __init__(self, batch: list[PreparedRequest], put: Callable[[object], None],
                 loop: asyncio.AbstractEventLoop | None = None):
        self.batch = batch
        self.size = len(batch)
        self.put = put
        self.loop = loop
        self.open = self.size  # rows not finished yet


class _Outbox:
    """What the decode thread sends in one step, grouped by the callers' event loops: one
    `call_soon_threadsafe` per loop per step (each is a write to the loop's wake-up socket and a
    wake-up), not one per row. Callers on a thread (`steps`) get theirs at once."""

    def __init__(self):
        self.by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Ticket, object]]] = {}

    def put(self, ticket: _Ticket, item: object) -> None:
        if ticket.loop is None:
            ticket.put(item)
        else:
            self.by_loop.setdefault(ticket.loop, []).append((ticket, item))

    def send(self) -> None:
        for loop, items in self.by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, items)
            except RuntimeError:  # that loop has closed: nobody is left to tell
                for ticket, _ in items:
                    for req in ticket.batch:
                        req.cancelled.set()
        self.by_loop = {}


def _deliver(items: list[tuple[_Ticket, object]]) -> None:
    """On a caller's event loop: one step's items for the tickets of that loop."""
    for ticket, item in items:
        ticket.put(item)


@dataclass(eq=False)
class _Row:
    ticket: _Ticket
    slot: int  # the request's index in its ticket's batch
    req: PreparedRequest
    state: SequenceState
    sampler: RowSampler


class ContinuousBatcher:
    """The decode loop of one engine, on its own thread (started at the first request).

    `max_rows` caps the rows decoded together (the role's `batching.max_batch_size`); with
    `join=False` a group waits until the running batch is empty (run-to-completion batching,
    kept to measure against); `wait_s` is how long an idle loop waits for a burst to gather."""

    def __init__(self, model: LoadedModel, max_rows: int, join: bool = True, wait_s: float = 0.0):
        self.model = model
        self.max_rows = max_rows
        self.join = join
        self.wait_s = wait_s
        self.pending: deque[_Row] = deque()
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.stopped = False
        self.dead: str | None = None  # why the decode thread ended, when it ended unasked
        self._reset()

    def _reset(self) -> None:
        self.rows: list[_Row] = []
        self.cache = None  # a DynamicCache over self.rows, in order
        self.mask: torch.Tensor | None = None  # [rows, columns] 1 where a row has a token
        self.next_pos: torch.Tensor | None = None  # [rows] the position of each row's next token
        self.logits: torch.Tensor | None = None  # [rows, vocab] for the token to sample now

    # ---- the callers' side ------------------------------------------------------------------

    async def stream(self, req: PreparedRequest) -> AsyncIterator[Chunk]:
        """One request's chunks, on the caller's event loop; closing it cancels the request."""
        steps: asyncio.Queue = asyncio.Queue()
        self._submit([req], steps.put_nowait, asyncio.get_running_loop())
        try:
            while (item := await steps.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                if item[0] is not None:
                    yield item[0]
        finally:
            req.cancelled.set()  # the caller left early: its row finishes at the next step

    def steps(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        """A group joins the running batch; one list per step, as long as `batch`. Blocks the
        calling thread between steps."""
        steps: queue.SimpleQueue = queue.SimpleQueue()
        self._submit(batch, steps.put)
        try:
            while (item := steps.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for req in batch:  # the caller left early: its rows finish at the next step
                req.cancelled.set()

    def _submit(self, batch: list[PreparedRequest], put: Callable[[object], None],
                loop: asyncio.AbstractEventLoop | None = None) -> None:
        ticket = _Ticket(batch, put, loop)
        model = self.model
        rows = []
        for i, req in enumerate(batch):
            state = SequenceState(req, model.tokenizer, model.think_ids, model.eos_ids)
            sampler = RowSampler(req.sampling, req.prompt_ids, model.eos_ids, req.grammar,
                                 in_answer=state.in_answer, budget_spent=state.budget_spent,
                                 forced_end=model.forced_end)
            rows.append(_Row(ticket, i, req, state, sampler))
        with self.cond:
            if self.stopped or self.dead:
                raise RuntimeError(self.dead or "the engine has shut down")
            self.pending.extend(rows)
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="decode", daemon=True)
                self.thread.start()
            self.cond.notify()

    def running(self) -> int:
        """Requests decoding or waiting to join."""
        return len(self.rows) + len(self.pending)

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()

    # ---- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        """The decode thread. A failure inside a step fails that step's requests and the loop
        goes on; anything that ends the loop itself (an exception outside a step, SystemExit,
        KeyboardInterrupt) marks the engine dead (`dead`) and fails every caller, so that the
        replica knows at once (serve/replica/deployment.py)."""
        try:
            self._decode_loop()
        except BaseException as exc:
            self.dead = f"the decode thread died ({type(exc).__name__}: {exc})"
            logger.error("%s", self.dead, exc_info=exc)
            with self.cond:
                self._fail_all(RuntimeError(self.dead))

    def _decode_loop(self) -> None:
        # OpenMP's thread count is per thread: set it here too, or oneDNN runs this thread's
        # matmuls on OMP_NUM_THREADS (1 in a Ray replica) whatever `torch_threads` says.
        if self.model.torch_threads:
            torch.set_num_threads(self.model.torch_threads)
        while True:
            with self.cond:
                while not (self.pending or self.rows or self.stopped):
                    self.cond.wait()
                if self.stopped:
                    self._fail_all(RuntimeError("the engine has shut down"))
                    return
                if not self.rows and self.wait_s > 0:
                    self._gather()
                joining = self._take_joining()
            try:
                with torch.inference_mode():
                    self._step(joining)
            except Exception as exc:  # every caller of this batch gets the error
                self._fail(exc, self.rows + joining)
                self._reset()

    def _gather(self) -> None:
        """An idle loop with a first arrival: wait up to `wait_s` for the batch to fill (called
        with `cond` held)."""
        deadline = time.monotonic() + self.wait_s
        while len(self.pending) < self.max_rows and not self.stopped:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.cond.wait(left)

    def _take_joining(self) -> list[_Row]:
        """Rows that join now (cancelled ones too: they are answered without a prefill)."""
        joining = [r for r in self.pending if r.req.cancelled.is_set()]
        if joining:
            self.pending = deque(r for r in self.pending if not r.req.cancelled.is_set())
        room = self.max_rows - len(self.rows)
        if not self.join and self.rows:
            room = 0
        while self.pending and room > 0:
            joining.append(self.pending.popleft())
            room -= 1
        return joining

    def _step(self, joining: list[_Row]) -> None:
        out: dict[_Ticket, list[Chunk | None]] = {}

        def emit(row: _Row, chunk: Chunk | None) -> None:
            out.setdefault(row.ticket, [None] * row.ticket.size)[row.slot] = chunk
            if chunk is not None and chunk.finish_reason:
                row.ticket.open -= 1

        live = []
        for row in joining:
            if row.req.cancelled.is_set():
                emit(row, row.state.cancel())
            else:
                live.append(row)
        if live:
            self._admit(live)
        keep: list[int] = []
        tokens: list[int] = []
        if self.rows:
            picks = sample_next(self.logits, [r.sampler for r in self.rows])
            for j, row in enumerate(self.rows):
                emit(row, self._advance(row, picks[j]))
                if not row.state.finished:
                    keep.append(j)
                    tokens.append(picks[j].token)
        outbox = _Outbox()
        for ticket, step in out.items():
            outbox.put(ticket, step)
            if ticket.open == 0:
                outbox.put(ticket, _END)
        outbox.send()
        if len(keep) < len(self.rows):
            self._select(keep)
        if self.rows:
            self._decode(tokens)

    @staticmethod
    def _advance(row: _Row, pick: Pick) -> Chunk | None:
        """The row's chunk for this step. A failure of this row alone (its sampling, grammar or
        detokenizing) finishes it with `error`; the other rows go on."""
        if row.req.cancelled.is_set():
            return row.state.cancel()
        if pick.error is None:
            try:
                return row.state.add(pick.token, pick.logprob)
            except Exception as exc:
                pick.error = exc
        logger.warning("request %s failed alone: %r", row.req.request_id, pick.error)
        return row.state.fail(f"{type(pick.error).__name__}: {pick.error}")

    # ---- the running batch ------------------------------------------------------------------

    def _admit(self, rows: list[_Row]) -> None:
        """Prefill the joining rows together, then stack them under the running ones."""
        from transformers import DynamicCache

        model = self.model
        ids, mask = model.left_pad([r.req.prompt_ids for r in rows])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = model.forward(ids, mask, positions, cache, logits_to_keep=1)
        next_pos = positions[:, -1] + 1
        if not self.rows:
            self.rows, self.cache, self.mask, self.next_pos, self.logits = rows, cache, mask, next_pos, logits
            return
        have, new = self.mask.shape[1], mask.shape[1]
        width = max(have, new)
        for old_layer, new_layer in zip(self.cache.layers, cache.layers):
            old_layer.keys = torch.cat([_pad_left(old_layer.keys, width - have), _pad_left(new_layer.keys, width - new)])
            old_layer.values = torch.cat(
                [_pad_left(old_layer.values, width - have), _pad_left(new_layer.values, width - new)]
            )
        self.mask = torch.cat([F.pad(self.mask, (width - have, 0)), F.pad(mask, (width - new, 0))])
        self.next_pos = torch.cat([self.next_pos, next_pos])
        self.logits = torch.cat([self.logits, logits])
        self.rows = self.rows + rows

    def _select(self, keep: list[int]) -> None:
        """Drop finished rows; cut the columns that only they used."""
        self.rows = [self.rows[j] for j in keep]
        if not keep:
            self._reset()
            return
        index = torch.tensor(keep, device=self.mask.device)
        self.cache.batch_select_indices(index)
        self.mask, self.next_pos = self.mask[index], self.next_pos[index]
        first = int(self.mask.any(dim=0).int().argmax())  # the first column any row uses
        if first > 0:
            for layer in self.cache.layers:
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]
            self.mask = self.mask[:, first:]

    def _decode(self, tokens: list[int]) -> None:
        model = self.model
        step = torch.tensor(tokens, device=self.mask.device)[:, None]
        self.mask = torch.cat([self.mask, self.mask.new_ones((len(tokens), 1))], dim=1)
        self.logits = model.forward(step, self.mask, self.next_pos[:, None], self.cache)
        self.next_pos = self.next_pos + 1

    # ---- failures ---------------------------------------------------------------------------

    def _fail(self, exc: BaseException, rows: list[_Row]) -> None:
        outbox = _Outbox()
        for ticket in {r.ticket for r in rows}:
            outbox.put(ticket, exc)
        outbox.send()

    def _fail_all(self, exc: BaseException) -> None:
        self._fail(exc, self.rows + list(self.pending))
        self.pending.clear()
        self._reset()


def _pad_left(kv: torch.Tensor, n: int) -> torch.Tensor:
    """[batch, heads, columns, dim] with n zero columns added on the left."""
    return F.pad(kv, (0, 0, n, 0)) if n else kv
