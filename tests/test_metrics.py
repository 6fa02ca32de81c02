"""Metrics against numbers worked out by hand, and span extraction against a transcription
of conlleval's chunk rules (as seqeval writes them)."""

import random
import re

import numpy as np
import pytest

from rnnkit.errors import UsageError
from rnnkit.metrics import (
    bio_spans,
    classification_metrics,
    plot_confusion_matrix,
    span_f1,
    token_accuracy,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- classification ----------------------------------------------------------------------

# true: a a a b b c ; predicted: a a b b c c
#   confusion (rows true, cols predicted): a: [2 1 0]  b: [0 1 1]  c: [0 0 1]
#   a: TP 2 FP 0 FN 1 -> P 1,   R 2/3, F1 2(2/3)/(5/3) = 0.8
#   b: TP 1 FP 1 FN 1 -> P 1/2, R 1/2, F1 1/2
#   c: TP 1 FP 1 FN 0 -> P 1/2, R 1,   F1 2(1/2)/(3/2) = 2/3
#   macro F1 = (0.8 + 0.5 + 2/3) / 3 ; accuracy = 4/6
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]


def test_classification_metrics_by_hand():
    m = classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c"])
    assert m["examples"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    pc = m["per_class"]
    assert pc["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert pc["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert pc["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["confusion_matrix"] == {"classes": ["a", "b", "c"],
                                     "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]]}
    assert all(type(v) is float for v in (m["accuracy"], m["macro_f1"]))


def test_confusion_matrix_rows_are_true_columns_predicted():
    # every example is class 0, every prediction class 2
    m = classification_metrics(np.array([0, 0, 0]), np.array([2, 2, 2]), ["x", "y", "z"])
    assert m["confusion_matrix"]["matrix"] == [[0, 0, 3], [0, 0, 0], [0, 0, 0]]
    assert m["per_class"]["x"]["recall"] == 0.0 and m["per_class"]["x"]["support"] == 3
    assert m["per_class"]["z"]["precision"] == 0.0 and m["per_class"]["z"]["support"] == 0


def test_macro_f1_counts_classes_never_seen():
    m = classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c", "d"])
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3 + 0.0) / 4)
    assert m["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion_matrix"]["matrix"][3] == [0, 0, 0, 0]


@pytest.mark.parametrize("y_true, y_pred, classes", [
    ([0, 1], [0], ["a", "b"]),         # lengths differ
    ([0, 3], [0, 1], ["a", "b"]),      # index out of range
    ([], [], ["a", "b"]),              # nothing to score
    ([0, 1], [0, 1], ["a", "a"]),      # duplicate names
])
def test_classification_metrics_rejects_bad_input(y_true, y_pred, classes):
    with pytest.raises(UsageError):
        classification_metrics(y_true, y_pred, classes)


@pytest.mark.parametrize("k", [3, 25])
def test_plot_confusion_matrix_writes_png(tmp_path, k):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, k - 1, size=200)  # the last class never occurs: an empty row
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, k, size=200))
    classes = [f"class_{i}" for i in range(k)]
    cm = classification_metrics(y_true, y_pred, classes)["confusion_matrix"]
    path = tmp_path / "plots" / "confusion.png"
    plot_confusion_matrix(cm, path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    assert [p.name for p in path.parent.iterdir()] == ["confusion.png"]  # no temporary file left


def test_plot_confusion_matrix_rejects_wrong_shape(tmp_path):
    with pytest.raises(UsageError, match="2x2"):
        plot_confusion_matrix({"classes": ["a", "b"], "matrix": [[1, 2, 3]]}, tmp_path / "c.png")


# --- spans -------------------------------------------------------------------------------

def test_bio_spans_basic():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert bio_spans(tags) == {("PER", 0, 2), ("LOC", 3, 4)}
    assert bio_spans([]) == set()
    assert bio_spans(["O", "O"]) == set()
    assert bio_spans(["B-X", "I-X"]) == {("X", 0, 2)}  # a span open at the end is closed


def test_i_after_o_starts_a_span():
    assert bio_spans(["O", "I-PER", "I-PER", "O", "I-LOC"]) == {("PER", 1, 3), ("LOC", 4, 5)}
    assert bio_spans(["I-PER"]) == {("PER", 0, 1)}


def test_type_change_ends_and_starts():
    assert bio_spans(["B-PER", "I-LOC", "I-LOC"]) == {("PER", 0, 1), ("LOC", 1, 3)}


def test_adjacent_spans_of_one_type():
    assert bio_spans(["B-X", "B-X", "I-X", "B-X"]) == {("X", 0, 1), ("X", 1, 3), ("X", 3, 4)}


def test_bioes():
    tags = ["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "S-X", "E-X", "B-Y", "E-Y", "I-Y"]
    assert bio_spans(tags) == {("PER", 0, 1), ("LOC", 2, 5), ("X", 5, 6), ("X", 6, 7),
                               ("Y", 7, 9), ("Y", 9, 10)}
    # types with hyphens keep them
    assert bio_spans(["B-GPE-city", "E-GPE-city"]) == {("GPE-city", 0, 2)}


def test_bad_tag_is_a_usage_error():
    with pytest.raises(UsageError, match="PER"):
        bio_spans(["O", "PER"])


# conlleval's chunk rules, as seqeval 1.2.2 writes them (get_entities, start_of_chunk,
# end_of_chunk), transcribed here as an independent reference.
def _seqeval_end(prev_tag, tag, prev_type, type_):
    end = prev_tag in ("E", "S")
    end |= (prev_tag, tag) in {("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O")}
    end |= prev_tag not in ("O", ".") and prev_type != type_
    return end


def _seqeval_start(prev_tag, tag, prev_type, type_):
    start = tag in ("B", "S")
    start |= (prev_tag, tag) in {("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I")}
    start |= tag not in ("O", ".") and prev_type != type_
    return start


def _seqeval_entities(seq):
    prev_tag, prev_type, begin, chunks = "O", "", 0, set()
    for i, chunk in enumerate(list(seq) + ["O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _seqeval_end(prev_tag, tag, prev_type, type_):
            chunks.add((prev_type, begin, i))  # seqeval's end is inclusive: i - 1
        if _seqeval_start(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def test_bio_spans_match_conlleval_rules_on_random_sequences():
    rng = random.Random(0)
    vocab = ["O"] + [f"{p}-{t}" for p in "BIES" for t in ("A", "B")]
    for _ in range(3000):
        tags = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        assert bio_spans(tags) == _seqeval_entities(tags), tags


def test_span_f1_perfect_and_all_o():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "S-ORG"]]
    perfect = span_f1(true, true)
    assert (perfect["precision"], perfect["recall"], perfect["f1"]) == (1.0, 1.0, 1.0)
    assert perfect["true_spans"] == perfect["predicted_spans"] == perfect["correct_spans"] == 3
    none = span_f1(true, [["O"] * len(s) for s in true])
    assert (none["precision"], none["recall"], none["f1"]) == (0.0, 0.0, 0.0)
    assert none["predicted_spans"] == 0 and none["true_spans"] == 3
    assert none["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_span_f1_partial_overlap_counts_wrong():
    true = [["B-PER", "I-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "O", "B-LOC"]]  # PER cut short: one FP and one FN
    m = span_f1(true, pred)
    assert (m["true_spans"], m["predicted_spans"], m["correct_spans"]) == (2, 2, 1)
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["per_type"]["PER"]["f1"] == 0.0 and m["per_type"]["LOC"]["f1"] == 1.0


def test_span_f1_micro_average_by_hand():
    # seq 0: true X(0,2) Y(3,4); pred X(0,2) Y(2,4)  -> 1 correct
    # seq 1: true X(0,1);        pred X(1,2) Z(2,3)  -> 0 correct (same span in another
    #        sequence would not count either)
    true = [["B-X", "I-X", "O", "B-Y"], ["B-X", "O", "O"]]
    pred = [["B-X", "I-X", "B-Y", "I-Y"], ["O", "B-X", "B-Z"]]
    m = span_f1(true, pred)
    p, r = 1 / 4, 1 / 3
    assert m["precision"] == pytest.approx(p) and m["recall"] == pytest.approx(r)
    assert m["f1"] == pytest.approx(2 * p * r / (p + r))
    assert m["per_type"]["X"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_type"]["Z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # a span in sequence 1 at the position of a true span of sequence 0 is no match
    assert span_f1([["B-X"], ["O"]], [["O"], ["B-X"]])["correct_spans"] == 0


def test_span_f1_rejects_misaligned():
    with pytest.raises(UsageError, match="sequence 1"):
        span_f1([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(UsageError):
        span_f1([["O"]], [])


def test_token_accuracy():
    assert token_accuracy([["O", "B-X", "I-X"], ["O"]], [["O", "B-X", "O"], ["B-Y"]]) == 0.5
    with pytest.raises(UsageError):
        token_accuracy([[]], [[]])


# --- events in per-step labels -----------------------------------------------------------

from rnnkit.metrics import event_f1, events  # noqa: E402


def test_events_are_maximal_runs_of_a_label_other_than_the_background():
    assert events(list("naabna"), "n") == [("a", 1, 3), ("b", 3, 4), ("a", 5, 6)]
    assert events(list("aan"), "n") == [("a", 0, 2)]
    assert events(list("nnn"), "n") == [] and events([], "n") == []
    assert events(np.array([0, 2, 2, 0, 1]), 0) == [(2, 1, 3), (1, 4, 5)]


def test_event_f1_by_hand():
    # seq 0 true  n a a a a n b b n n : a[1,5)  b[6,8)
    #        pred n n a a n n a a n n : a[2,4) IoU 2/4 = 0.5 -> match; a[6,8) is no b
    # seq 1 true  a a n n : a[0,2)      pred n n n n : nothing
    # matched 1, predicted 2, true 3: P 1/2, R 1/3, F1 2(1/6)/(5/6) = 0.4
    m = event_f1([list("naaaanbbnn"), list("aann")], [list("nnaannaann"), list("nnnn")], "n")
    assert (m["matched_events"], m["predicted_events"], m["true_events"]) == (1, 2, 3)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(0.4)
    assert m["per_label"]["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_label"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # IoU 2/5 is below 0.5: no match; at iou=0.4 it is one
    assert event_f1([list("aaaaa")], [list("nnnaa")], "n")["f1"] == 0.0
    assert event_f1([list("aaaaa")], [list("nnnaa")], "n", iou=0.4)["f1"] == 1.0
    # nothing true, nothing predicted: every ratio 0
    assert event_f1([list("nnn")], [list("nnn")], "n")["f1"] == 0.0


def test_event_matching_is_one_to_one_and_greedy_by_iou():
    # true a a a n a a a a a a : T1 [0,3), T2 [4,10)
    # pred n a a a a a a a n a : P1 [1,8), P2 [9,10)
    # IoU: T2-P1 4/9, T1-P1 2/8, T2-P2 1/6. At iou 0.15 greedy takes T2-P1 first; then
    # T1-P1 and T2-P2 each reuse a matched event: 1 match of 2 and 2.
    m = event_f1([list("aaanaaaaaa")], [list("naaaaaaana")], "n", iou=0.15)
    assert (m["matched_events"], m["predicted_events"], m["true_events"]) == (1, 2, 2)
    assert m["f1"] == pytest.approx(0.5)


def test_event_f1_rejects_bad_input():
    with pytest.raises(UsageError, match="sequence 0"):
        event_f1([list("nan")], [list("na")], "n")
    with pytest.raises(UsageError, match="iou"):
        event_f1([list("na")], [list("na")], "n", iou=0.0)


# --- forecasting -------------------------------------------------------------------------

from rnnkit.metrics import forecast_metrics, interval_coverage  # noqa: E402

# actual [[1, 2], [3, 4]], forecast [[2, 2], [1, 4]]: errors [[1, 0], [-2, 0]]
#   mae   = (1 + 0 + 2 + 0) / 4 = 0.75
#   rmse  = sqrt((1 + 0 + 4 + 0) / 4) = sqrt(1.25)
#   smape = (200*1/(1+2) + 0 + 200*2/(3+1) + 0) / 4 = (66.67 + 100) / 4 = 41.67
# season 2: history 0 = [1, 2, 3, 5] -> |3-1|, |5-2| -> scale 2.5
#           history 1 = [0, 0, 4, 4, 8] -> |4-0|, |4-0|, |8-4| -> scale 4
#   mase  = (1/2.5 + 0 + 2/4 + 0) / 4 = 0.225
F_ACTUAL = np.array([[1.0, 2.0], [3.0, 4.0]])
F_FORECAST = np.array([[2.0, 2.0], [1.0, 4.0]])
F_HISTORY = [np.array([1.0, 2.0, 3.0, 5.0]), np.array([0.0, 0.0, 4.0, 4.0, 8.0])]


def test_forecast_metrics_by_hand():
    m = forecast_metrics(F_ACTUAL, F_FORECAST, F_HISTORY, season=2)
    assert m["mae"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(np.sqrt(1.25))
    assert m["smape"] == pytest.approx((200 / 3 + 100) / 4)
    assert m["mase"] == pytest.approx(0.225)
    assert m["forecasts"] == 2
    assert all(type(v) is float for k, v in m.items() if k != "forecasts")


def test_mase_season_one_is_the_naive_scale():
    # season 1: history 0 -> |1|, |1|, |2| -> 4/3; history 1 -> 0, 4, 0, 4 -> 2
    #   mase = (1 / (4/3) + 0 + 2/2 + 0) / 4 = (0.75 + 1) / 4
    m = forecast_metrics(F_ACTUAL, F_FORECAST, F_HISTORY)
    assert m["mase"] == pytest.approx(1.75 / 4)


def test_perfect_forecast_scores_zero_and_zero_over_zero_counts_zero():
    a = np.array([[0.0, 1.0, -2.0]])
    m = forecast_metrics(a, a.copy(), np.array([0.0, 1.0, 2.0, 3.0]), season=2)
    assert m == {"mae": 0.0, "rmse": 0.0, "smape": 0.0, "mase": 0.0, "forecasts": 1}


def test_smape_is_bounded_by_200_and_mase_omitted_without_history():
    # terms: 0/0 -> 0; 200*2/(1+1) = 200 -> mean 100
    m = forecast_metrics(np.array([[0.0, 1.0]]), np.array([[0.0, -1.0]]))
    assert m["smape"] == pytest.approx(100.0) and "mase" not in m


def test_mase_per_target_with_one_history_for_all():
    # (N=1, H=2, C=2); one history (T=3, C=2) for all forecasts, season 1:
    #   target 0: history [0, 2, 4] -> scale 2; errors 1, 1 -> 0.5, 0.5
    #   target 1: history [5, 5, 6] -> scale 0.5; errors 0, 1 -> 0, 2
    #   mase = (0.5 + 0.5 + 0 + 2) / 4 = 0.75
    actual = np.array([[[1.0, 1.0], [2.0, 2.0]]])
    forecast = np.array([[[2.0, 1.0], [3.0, 3.0]]])
    history = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 6.0]])
    m = forecast_metrics(actual, forecast, history)
    assert m["mase"] == pytest.approx(0.75)
    assert m["mae"] == pytest.approx(0.75)
    # the same with the history given once per forecast
    assert forecast_metrics(actual, forecast, [history])["mase"] == pytest.approx(0.75)


def test_mase_left_out_when_the_history_has_no_variation_at_the_season():
    m = forecast_metrics(F_ACTUAL, F_FORECAST, [np.array([1.0, 2.0, 1.0, 2.0]), np.ones(4)], season=2)
    assert "mase" not in m and m["mae"] == pytest.approx(0.75)


@pytest.mark.parametrize("kwargs, message", [
    ({"forecast": np.zeros((2, 3))}, "expected forecasts of the actual values' shape (2, 2), got shape (2, 3)"),
    ({"actual": np.zeros(2), "forecast": np.zeros(2)}, "expected actual values of shape (N, H) or (N, H, C)"),
    ({"forecast": np.array([[np.nan, 0.0], [0.0, 0.0]])}, "expected finite forecasts, got 1 NaN"),
    ({"history": [np.arange(4.0)]}, "expected one history per forecast (2), got 1"),
    ({"history": np.arange(2.0), "season": 2}, "longer than the season (2) to scale MASE, got 2 value(s)"),
    ({"history": np.zeros((5, 2))}, "expected history 0 of shape (T,) or (T, 1)"),
    ({"history": np.arange(5.0), "season": 0}, "expected season as an integer >= 1, got 0"),
])
def test_forecast_metrics_errors(kwargs, message):
    args = {"actual": F_ACTUAL, "forecast": F_FORECAST, "history": None, "season": 1, **kwargs}
    with pytest.raises(UsageError, match=re.escape(message)):
        forecast_metrics(**args)


def test_interval_coverage_by_hand():
    actual = np.array([[1.0, 2.0], [3.0, 4.0]])
    lower = np.array([[0.0, 2.0], [3.5, 0.0]])   # 2 on its lower bound counts as inside
    upper = np.array([[2.0, 3.0], [4.0, 3.9]])
    assert interval_coverage(actual, lower, upper) == 0.5
    assert interval_coverage(actual, actual, actual) == 1.0
    with pytest.raises(UsageError, match="expected lower and upper bounds"):
        interval_coverage(actual, lower[:1], upper)


def _event_f1_brute_force(true_seqs, pred_seqs, background, iou):
    """Every pair of events compared, greedy by IoU: the definition, slowly."""
    matched = n_true = n_pred = 0
    for t, p in zip(true_seqs, pred_seqs):
        te, pe = events(t, background), events(p, background)
        n_true, n_pred = n_true + len(te), n_pred + len(pe)
        pairs = sorted((-(min(e1, e2) - max(s1, s2)) / (max(e1, e2) - min(s1, s2)), i, j)
                       for i, (l1, s1, e1) in enumerate(te) for j, (l2, s2, e2) in enumerate(pe)
                       if l1 == l2 and min(e1, e2) > max(s1, s2))
        used_t, used_p = set(), set()
        for score, i, j in pairs:
            if -score >= iou and i not in used_t and j not in used_p:
                used_t.add(i)
                used_p.add(j)
                matched += 1
    return matched, n_pred, n_true


@pytest.mark.parametrize("iou", [0.2, 0.5, 0.8])
def test_event_f1_equals_comparing_every_pair(iou):
    rng = np.random.default_rng(0)
    true_seqs, pred_seqs = [], []
    for _ in range(30):
        t = rng.choice(["n", "a", "b"], p=[0.6, 0.2, 0.2], size=int(rng.integers(1, 80)))
        p = np.where(rng.random(len(t)) < 0.8, t, rng.choice(["n", "a", "b"], size=len(t)))
        true_seqs.append(t.tolist())
        pred_seqs.append(p.tolist())
    m = event_f1(true_seqs, pred_seqs, "n", iou=iou)
    assert (m["matched_events"], m["predicted_events"], m["true_events"]) == \
        _event_f1_brute_force(true_seqs, pred_seqs, "n", iou)


def test_event_f1_on_a_million_steps_is_quick():
    import time

    rng = np.random.default_rng(1)
    y = np.where(rng.random(1_000_000) < 0.1, "a", "n")             # about 90,000 events
    start = time.perf_counter()
    m = event_f1([y], [y], "n")
    assert m["f1"] == 1.0 and m["true_events"] > 80_000
    assert time.perf_counter() - start < 10
