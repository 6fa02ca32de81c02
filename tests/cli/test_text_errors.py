"""Bad text-task input: one line on stderr naming the file (and line), exit 2, nothing
written."""

import pytest

from rnnkit.cli import main
from tests.cli.test_errors import _fails
from tests.conftest import tiny


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ok.csv").write_text("text,label\ngood film,pos\nbad film,neg\nfine,pos\nawful,neg\n")
    (tmp_path / "one_class.csv").write_text("text,label\ngood,pos\ngreat,pos\n")
    (tmp_path / "no_label.csv").write_text("text,stars\ngood,5\nbad,1\n")
    (tmp_path / "empty_text.jsonl").write_text('{"text": "good", "label": "pos"}\n{"text": "  ", "label": "neg"}\n')
    (tmp_path / "latin1.tsv").write_bytes("text\tlabel\ncaf\xe9\tpos\nbad\tneg\n".encode("latin-1"))
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "one_col.conll").write_text("the\tO\nacme\n\n")
    (tmp_path / "ok.conll").write_text("the\tO\nacme\tB-ORG\n\nhi\tO\n\n")
    return tmp_path


@pytest.mark.parametrize("task, args, message", [
    ("classify", ["--data", "{d}/one_class.csv"], "expected at least 2 classes, got only 'pos'"),
    ("classify", ["--data", "{d}/no_label.csv"], "has no column 'label' (--label-column); its columns are: "
                                                  "'text', 'stars'"),
    ("classify", ["--data", "{d}/ok.csv", "--text-column", "review"], "has no column 'review'"),
    ("classify", ["--data", "{d}/empty_text.jsonl"], "empty_text.jsonl:2: empty text"),
    ("classify", ["--data", "{d}/latin1.tsv"], "latin1.tsv' is not UTF-8 text (byte 0xe9 at line 2"),
    ("classify", ["--data", "{d}/empty_dir"], "empty_dir' contains no files"),
    ("classify", ["--data", "{d}/ok.csv", "--max-length", "0"], "--max-length: expected a positive integer"),
    ("classify", ["--data", "{d}/ok.csv", "--valid-fraction", "0.5", "--min-freq", "0"], "min_freq"),
    ("classify", ["--data", "{d}/ok.csv", "--valid-fraction", "0.05"],
     "--valid-fraction 0.05 of 4 examples leaves an empty split"),
    ("classify", ["--data", "{d}/ok.csv", "--valid", "{d}/one_class.csv", "--model", "bow", "--ngrams", "0"],
     "ngrams"),
    ("classify", [], "--data: expected a CSV, TSV or JSON Lines file"),
    ("tag", ["--data", "{d}/one_col.conll"], "one_col.conll:2: expected a token and its tag"),
    ("tag", ["--data", "{d}/ok.conll", "--tokenizer", "bpe"], "expected word, got bpe"),
])
def test_bad_text_input_writes_nothing(capsys, files, task, args, message):
    argv = ["train", task, "--out", str(files / "run"), *tiny(task), *[a.format(d=files) for a in args]]
    _fails(capsys, argv, message)
    assert not (files / "run").exists()


def test_labels_unseen_in_training_are_named(capsys, files, tmp_path):
    (files / "other.csv").write_text("text,label\nmeh,neutral\n")
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(files / "ok.csv"), "--valid", str(files / "ok.csv"),
                 "--out", str(run), *tiny("classify")]) == 0
    capsys.readouterr()   # train's output, its note on the baseline included
    _fails(capsys, ["evaluate", str(run), "--data", str(files / "other.csv")],
           "other.csv:2: label 'neutral' is not one of the training classes ('neg', 'pos')")
    _fails(capsys, ["evaluate", str(run), "--data", str(files / "ok.conll")], "unknown extension")
