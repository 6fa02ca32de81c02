"""Reading labelled texts: CSV, TSV, JSON Lines, folders of classes, and the errors."""

import json
import time

import pytest

from rnnkit.data.tables import LabelledTexts, read_labelled_texts
from tests.conftest import one_line_error


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


def error(*args, **kwargs) -> str:
    return one_line_error(read_labelled_texts, *args, **kwargs)


def test_csv_with_quoted_newlines_commas_and_sources(tmp_path):
    path = write(tmp_path / "train.csv",
                 'id,text,label\n'
                 '1,a fine film,pos\n'
                 '2,"dull, long\nand ""slow""",neg\n'
                 '\n'
                 '3,  ok  , pos \n')
    data = read_labelled_texts([path])
    assert isinstance(data, LabelledTexts)
    assert data.texts == ["a fine film", 'dull, long\nand "slow"', "ok"]
    assert data.labels == ["pos", "neg", "pos"]
    assert data.sources == [f"{path}:2", f"{path}:3", f"{path}:6"]
    assert data.files == [path]


def test_bom_crlf_and_custom_columns(tmp_path):
    path = write(tmp_path / "t.csv", "\ufeffreview,stars\r\ngreat,5\r\n\"two\r\nlines\",1\r\nmeh,3\r\n")
    data = read_labelled_texts(path, text_column="review", label_column="stars")
    assert data.texts == ["great", "two\r\nlines", "meh"]
    assert data.labels == ["5", "1", "3"]
    assert data.sources == [f"{path}:2", f"{path}:3", f"{path}:5"]


@pytest.mark.parametrize("ext", [".tsv", ".tab"])
def test_tsv_keeps_quotes_as_written(tmp_path, ext):
    path = write(tmp_path / f"t{ext}", 'label\ttext\npos\t"a film" is, good\nneg\tbad "one\n')
    data = read_labelled_texts([path])
    assert data.texts == ['"a film" is, good', 'bad "one']
    assert data.labels == ["pos", "neg"]
    assert data.sources == [f"{path}:2", f"{path}:3"]


@pytest.mark.parametrize("ext", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path, ext):
    rows = [{"text": "yes", "label": 1}, {"text": "no", "label": 0, "extra": [1]},
            {"text": "maybe", "label": True}, {"text": "x", "label": "spam"}]
    lines = [json.dumps(r) for r in rows]
    path = write(tmp_path / f"d{ext}", lines[0] + "\n\n" + "\r\n".join(lines[1:]))   # no final newline
    data = read_labelled_texts([path])
    assert data.texts == ["yes", "no", "maybe", "x"]
    assert data.labels == ["1", "0", "True", "spam"]
    assert data.sources == [f"{path}:1", f"{path}:3", f"{path}:4", f"{path}:5"]


def test_several_files_folder_of_tables_and_glob(tmp_path):
    a = write(tmp_path / "tables" / "a.csv", "text,label\none,x\n")
    b = write(tmp_path / "tables" / "sub" / "b.jsonl", '{"text": "two", "label": "y"}\n')
    write(tmp_path / "tables" / "README.md", "notes, ignored")
    data = read_labelled_texts([str(tmp_path / "tables")])
    assert data.texts == ["one", "two"] and data.labels == ["x", "y"]
    assert data.files == [a, b] and data.sources == [f"{a}:2", f"{b}:1"]
    data = read_labelled_texts([str(tmp_path / "tables" / "**" / "*.jsonl"), a])
    assert data.texts == ["two", "one"] and data.files == [b, a]


def test_folder_of_classes(tmp_path):
    root = tmp_path / "reviews"
    p1 = write(root / "pos" / "1.txt", "good film\n")
    p2 = write(root / "pos" / "more" / "2.txt", "\ufeffgreat")
    n1 = write(root / "neg" / "1.txt", "bad film\r\n")
    write(root / "neg" / "notes.md", "ignored")
    write(root / ".git" / "x.txt", "hidden")
    data = read_labelled_texts(str(root))
    assert data.labels == ["neg", "pos", "pos"]
    assert data.texts == ["bad film", "good film", "great"]
    assert data.sources == [n1, p1, p2] and data.files == [n1, p1, p2]


def test_predict_mode_without_labels(tmp_path):
    path = write(tmp_path / "p.csv", "text\nhello\nworld\n")
    data = read_labelled_texts([path], labels_required=False)
    assert data.texts == ["hello", "world"] and data.labels is None
    # present: read (a single class is fine for predict)
    path = write(tmp_path / "q.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n')
    assert read_labelled_texts([path], labels_required=False).labels == ["x", "x"]
    # partly missing: no labels
    path = write(tmp_path / "r.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": null}\n')
    assert read_labelled_texts([path], labels_required=False).labels is None
    path = write(tmp_path / "s.csv", "text,label\na,x\nb,\n")
    assert read_labelled_texts([path], labels_required=False).labels is None


def test_missing_columns_name_the_file_and_list_columns(tmp_path):
    path = write(tmp_path / "d.csv", "sentence,label\nhi,x\n")
    msg = error([path])
    assert "d.csv" in msg and "no column 'text' (data.text_column)" in msg and "'sentence', 'label'" in msg
    path = write(tmp_path / "e.tsv", "text\tcategory\nhi\tx\n")
    msg = error([path])
    assert "e.tsv" in msg and "no column 'label' (data.label_column)" in msg and "'text', 'category'" in msg
    # predict mode still needs the text column
    assert "no column 'text'" in error([str(tmp_path / "d.csv")], labels_required=False)
    path = write(tmp_path / "f.jsonl", '{"text": "a", "label": "x"}\n{"body": "b", "label": "y"}\n')
    msg = error([path])
    assert f"{path}:2: no key 'text'" in msg and "'body', 'label'" in msg
    path = write(tmp_path / "g.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n')
    assert f"{path}:2: no key 'label'" in error([path])


@pytest.mark.parametrize("content, where, message", [
    ("text,label\na,x\n  ,y\n", 3, "empty text in column 'text'"),
    ("text,label\na,x\nb,\n", 3, "missing label in column 'label'"),
    ("text,label\na,x\n\"b\nc\",  \n", 3, "missing label"),
    ("text,label\na,x\nb,y,z\n", 3, "expected 2 fields as in the header on line 1, got 3"),
    ("text,label\na,x\nb\n", 3, "expected 2 fields"),
    ('text,label\na,x\n"b" c,y\n', 3, "malformed CSV row"),
    ('text,label\na,x\n"never closed,y\nmore,z\n', 3, "malformed CSV row"),
])
def test_csv_row_errors_name_file_and_line(tmp_path, content, where, message):
    path = write(tmp_path / "bad.csv", content)
    msg = error([path])
    assert f"{path}:{where}:" in msg and message in msg


@pytest.mark.parametrize("content, where, message", [
    ('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"\n', 2, "malformed JSON"),
    ('{"text": "a", "label": "x"}\n["b", "y"]\n', 2, "expected a JSON object"),
    ('{"text": "a", "label": "x"}\n{"text": "", "label": "y"}\n', 2, "empty text"),
    ('{"text": "a", "label": "x"}\n{"text": null, "label": "y"}\n', 2, "empty text"),
    ('{"text": "a", "label": "x"}\n{"text": "b", "label": null}\n', 2, "missing label"),
    ('{"text": "a", "label": "x"}\n{"text": "b", "label": " "}\n', 2, "missing label"),
    ('{"text": "a", "label": "x"}\n{"text": ["b"], "label": "y"}\n', 2, "expected a string under 'text', got a JSON array"),
    ('[{"text": "a",\n "label": "x"}]\n', 1, "one JSON document (a list)"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, content, where, message):
    path = write(tmp_path / "bad.jsonl", content)
    msg = error([path])
    assert f"{path}:{where}:" in msg and message in msg


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n \n", "is empty"),
    (b"text,label\na,x\x00\n", "looks binary (NUL byte at offset 14)"),
    (b"text,label\na,x\nb\xe9,y\n", "is not UTF-8 text (byte 0xe9 at line 3"),
    (b"text,label\n", "has a header ('text', 'label') but no rows"),
    (b"text,label\n\n\n", "but no rows"),
])
def test_bad_files(tmp_path, content, message):
    path = write(tmp_path / "f.csv", content)
    msg = error([path])
    assert "f.csv" in msg and message in msg


def test_empty_jsonl_and_txt_class_file(tmp_path):
    assert "is empty" in error([write(tmp_path / "e.jsonl", "\n\n")])
    write(tmp_path / "c" / "a" / "1.txt", "x")
    write(tmp_path / "c" / "b" / "1.txt", "\xff".encode("latin-1"))
    msg = error([str(tmp_path / "c")])
    assert "1.txt" in msg and "not UTF-8" in msg


def test_unknown_extension(tmp_path):
    msg = error([write(tmp_path / "data.xlsx", "text,label\na,b\n")])
    assert "data.xlsx" in msg and "unknown extension '.xlsx'" in msg
    assert "by extension" in msg and ".csv, .tsv, .tab, .jsonl, .ndjson, .json" in msg
    assert "unknown extension '.txt'" in error([write(tmp_path / "a.txt", "hi")])


def test_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "contains no files" in error([str(tmp_path / "empty")])
    (tmp_path / "hollow" / "pos").mkdir(parents=True)
    (tmp_path / "hollow" / "neg").mkdir(parents=True)
    msg = error([str(tmp_path / "hollow")])
    assert "hollow" in msg and "'neg', 'pos'" in msg and "no .txt files" in msg
    write(tmp_path / "half" / "pos" / "1.txt", "good")
    write(tmp_path / "half" / "neg" / "notes.md", "x")
    msg = error([str(tmp_path / "half")])
    assert "class subfolder" in msg and "neg" in msg and "no .txt files" in msg
    write(tmp_path / "loose" / "pos" / "1.txt", "good")
    write(tmp_path / "loose" / "2.txt", "bad")
    assert "2.txt" in error([str(tmp_path / "loose")]) and "one subfolder per class" in error([str(tmp_path / "loose")])
    write(tmp_path / "mixed" / "a.csv", "text,label\na,b\n")
    write(tmp_path / "mixed" / "pos" / "1.txt", "good")
    assert "mixes table files" in error([str(tmp_path / "mixed")])
    write(tmp_path / "other" / "a.md", "x")
    msg = error([str(tmp_path / "other")])
    assert "neither table files" in msg and "a.md" in msg
    assert "does not exist" in error([str(tmp_path / "nope.csv")])


def test_one_class_is_an_error_when_labels_are_required(tmp_path):
    a = write(tmp_path / "a.csv", "text,label\nx,spam\ny,spam\n")
    b = write(tmp_path / "b.jsonl", '{"text": "z", "label": "spam"}\n')
    msg = error([a, b])
    assert "expected at least 2 classes, got only 'spam'" in msg and "a.csv" in msg and "b.jsonl" in msg
    write(tmp_path / "one" / "pos" / "1.txt", "good")
    msg = error([str(tmp_path / "one")])
    assert "got only 'pos'" in msg and "one" in msg
    # two classes over two files is fine
    c = write(tmp_path / "c.csv", "text,label\nw,ham\n")
    assert read_labelled_texts([a, c]).labels == ["spam", "spam", "ham"]


def test_long_cells_and_100k_rows_read_fast(tmp_path):
    long = "word " * 50_000                              # past csv's default field size limit
    path = write(tmp_path / "long.csv", f"text,label\n\"{long}\",a\nshort,b\n")
    assert read_labelled_texts([path]).texts[0] == long.strip()
    lines = ["text,label"] + [f'"row {i}, with a comma",{i % 3}' for i in range(100_000)]
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    start = time.perf_counter()
    data = read_labelled_texts([path])
    elapsed = time.perf_counter() - start
    assert len(data) == 100_000 and data.sources[-1] == f"{path}:100001"
    assert data.texts[-1] == "row 99999, with a comma" and set(data.labels) == {"0", "1", "2"}
    assert elapsed < 2.0, elapsed
