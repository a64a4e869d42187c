"""Per-request text handling on a real (tiny) tokenizer: the thinking split, detokenization and
stop strings, whole and streamed across chunk boundaries."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from serve.generation import PreparedRequest, SamplingParams
from serve.engines.reasoning import ReasoningParser, split_ids, think_token_ids
from serve.engines.text import IncrementalDetokenizer, SequenceState, StopMatcher


@pytest.fixture(scope="module")
def tok(tiny_dirs):
    return AutoTokenizer.from_pretrained(tiny_dirs["qwen3"])


def ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def stream(tok, token_ids, opened=False, stop=(), max_new=1000, thinking=True):
    """Feeds ids one at a time through a SequenceState; returns (thinking, content, reason)."""
    req = PreparedRequest("r", [1, 2], SamplingParams(max_new_tokens=max_new, stop=tuple(stop)),
                          thinking=thinking, prompt_opens_thinking=opened)
    state = SequenceState(req, tok, think_token_ids(tok), {tok.eos_token_id})
    thinking_text, content = "", ""
    for token in token_ids:
        chunk = state.add(token)
        if chunk:
            thinking_text += chunk.thinking
            content += chunk.content
        if state.finished:
            return thinking_text, content, state.finish_reason, chunk
    return thinking_text, content, None, None


def test_think_ids_come_from_the_tokenizer(tok):
    start, end = think_token_ids(tok)
    assert tok.convert_ids_to_tokens([start, end]) == ["<think>", "</think>"]


def test_complete_split(tok):
    out = ids(tok, "<think>\nweigh 9.11 against 9.8\n</think>\n\n9.8 is larger")
    thinking, content, thought = split_ids(out, *think_token_ids(tok))
    assert thought
    assert tok.decode(thinking).strip() == "weigh 9.11 against 9.8"
    assert tok.decode(content).strip() == "9.8 is larger"


def test_missing_end_tag_means_all_thinking(tok):
    out = ids(tok, "still weighing 9.11 against")
    thinking, content, thought = split_ids(out, *think_token_ids(tok), opened=True)
    assert thought and content == []
    assert tok.decode(thinking) == "still weighing 9.11 against"


def test_no_tags_means_all_answer(tok):
    out = ids(tok, "9.8 is larger")
    thinking, content, thought = split_ids(out, *think_token_ids(tok))
    assert not thought and thinking == [] and tok.decode(content) == "9.8 is larger"


def test_streamed_split_matches_the_whole(tok):
    text = "<think>\n苹果、香蕉 and 9.11\n</think>\n\n结论：9.8更大"
    out = ids(tok, text) + [tok.eos_token_id]
    thinking, content, reason, last = stream(tok, out)
    assert thinking.strip() == "苹果、香蕉 and 9.11"
    assert content == "结论：9.8更大"  # blank lines after </think> dropped
    assert reason == "stop"
    assert last.completion_tokens == len(out)
    assert last.thinking_tokens == out.index(think_token_ids(tok)[1]) + 1  # through </think>
    assert last.response == tok.decode(out[:-1], skip_special_tokens=False)


def test_multibyte_characters_split_across_tokens_decode_whole(tok):
    # Byte-level BPE splits rare CJK characters into several tokens; no delta may hold half of one.
    out = ids(tok, "龘靐齉")
    assert len(out) > 3
    det = IncrementalDetokenizer(tok)
    deltas = [det.add(t) for t in out]
    assert "".join(deltas) == "龘靐齉"
    assert all("\ufffd" not in d for d in deltas)


def test_parser_routes_tags_nowhere(tok):
    start, end = think_token_ids(tok)
    parser = ReasoningParser(start, end)
    assert [parser.route(t) for t in (start, 5, end, 6)] == [None, "thinking", None, "content"]


@pytest.mark.parametrize("pieces", [["Hello wor", "ld. STOP", " more"], ["Hello world. S", "T", "OP"]])
def test_stop_matcher_across_chunks(pieces):
    m = StopMatcher(("STOP",))
    out, stopped = "", False
    for piece in pieces:
        text, stopped = m.feed(piece)
        out += text
        if stopped:
            break
    assert stopped and out == "Hello world. "


def test_stop_matcher_holds_back_only_possible_prefixes():
    m = StopMatcher(("</answer>",))
    assert m.feed("a <") == ("a ", False)
    assert m.feed("b") == ("<b", False)
    assert m.flush() == ""


def test_stop_string_in_streamed_answer(tok):
    out = ids(tok, "9.8 is larger. STOP and more")
    thinking, content, reason, last = stream(tok, out, stop=["STOP"], thinking=False)
    assert (content, reason) == ("9.8 is larger. ", "stop")
    assert last.response == "9.8 is larger. "


def test_length_flushes_held_back_text(tok):
    out = ids(tok, "hello world ST")
    _, content, reason, _ = stream(tok, out, stop=["STOP"], max_new=len(out), thinking=False)
    assert (content, reason) == ("hello world ST", "length")
