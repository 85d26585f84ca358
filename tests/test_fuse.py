"""Which gates adgen/fuse.py finds in the corpus programs of tests/corpus/fused.py (their
gradients are checked by tests/test_corpus.py), and what the fused backward pass avoids:
np.add.at for the cross-entropy picks, the argmax mask of a skipped max shift."""

from __future__ import annotations

import inspect

import libcst as cst
import pytest

import adgen
from adgen.compiler import parse
from adgen.fuse import fuse
from adgen.stage import stage_function
from corpus_loader import CORPUS, load_module

PATH = CORPUS / "fused.py"
FUSED = load_module(PATH)
GATES = {"softmax_div", "logsumexp", "logsumexp_max", "log_softmax", "softmax_log_pick",
         "log_softmax_pick"}

# function -> the gates (primitives, in order, /sum or /mean for a reduced pick) of its
# fused body, and whether its gradient
# still needs an argmax mask (a max shift that is not skipped)
EXPECTED = {
    "ce_softmax_sum": (["softmax_div", "softmax_log_pick", "softmax_log_pick/sum"], False),
    "ce_softmax_scaled": (["softmax_div", "softmax_log_pick"], False),
    "ce_softmax_regularised": (["softmax_div", "softmax_log_pick", "softmax_log_pick/mean"],
                               False),
    "ce_log_softmax": (["logsumexp", "log_softmax", "log_softmax_pick",
                        "log_softmax_pick/mean"], False),
    "ce_log_softmax_steps": (["logsumexp", "log_softmax", "log_softmax_pick",
                              "log_softmax_pick/sum"], False),
    "log_softmax_weighted": (["logsumexp", "log_softmax"], False),
    "log_softmax_columns": (["logsumexp", "log_softmax"], False),
    "logsumexp_full": (["logsumexp"], False),
    "logsumexp_rows": (["logsumexp"], False),
    "logsumexp_shifted_full": (["logsumexp", "logsumexp_max"], False),
    "logsumexp_shifted_rows": (["logsumexp", "logsumexp_max"], False),
    "logsumexp_shifted_vector": (["logsumexp", "logsumexp_max"], False),
    "log_likelihoods": (["logsumexp", "log_softmax", "log_softmax_pick"], False),
    "logsumexp_unannotated": (["logsumexp", "logsumexp_max", "logsumexp"], False),
    # near misses
    "probs_used_again": (["softmax_div"], False),
    "softmax_of_columns_picked": (["softmax_div"], False),
    "shift_along_other_axis": (["softmax_div", "softmax_log_pick", "softmax_log_pick/mean"],
                               True),
    "rows_not_arange": (["softmax_div"], False),
    "lse_without_keepdims_shift": (["logsumexp"], True),
    "lse_not_shifted_back": (["logsumexp"], True),
    "log_softmax_parts_used": (["logsumexp"], False),
}


def _gates(name: str) -> list[str]:
    parsed = parse(PATH.read_text(), str(PATH))
    node = next(n for n in parsed.module.body
                if isinstance(n, cst.FunctionDef) and n.name.value == name)
    return [s.prim + "".join(f"/{v}" for k, v in s.attrs if k == "reduce")
            for s in fuse(stage_function(parsed, node)[0]).body if s.prim in GATES]


def test_every_corpus_program_is_listed():
    assert set(EXPECTED) == set(FUSED.INPUTS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fused_gates(name):
    gates, masked = EXPECTED[name]
    assert _gates(name) == gates
    source = adgen.source(getattr(FUSED, name), wrt=FUSED.WRT.get(name))
    assert ("_argmax_mask" in source) == masked
    # a pick of one entry per row, fused or not, scatters with a direct `+=`: rows =
    # np.arange(N) and one label per row make the pairs distinct; np.add.at only where the
    # rows are an arange of another length (pairs may repeat)
    picks = "np.arange" in inspect.getsource(getattr(FUSED, name))
    assert ("np.add.at" in source) == (picks and name == "rows_not_arange")
    if picks and "_pick" not in gates[-1] and name != "rows_not_arange":
        assert "[rows1, y] += " in source


def test_the_pick_adds_in_place_at_distinct_pairs():
    """The sparse part is `dx[rows, y] += g`: right because rows = arange(N) makes every
    (row, label) pair distinct even where labels repeat (np.add.at is not needed)."""
    source = adgen.source(FUSED.ce_softmax_scaled)
    assert "ds[rows1, y] += dlogpart1" in source
    assert "ds = -dlogpart1[:, np.newaxis] * p" in source
    source = adgen.source(FUSED.ce_log_softmax)  # the mean: one number for every row
    assert "dx = -dmeanpart1 / N * (expx / sumexpx)" in source
    assert "dx[rows1, y] += dmeanpart1 / N" in source
