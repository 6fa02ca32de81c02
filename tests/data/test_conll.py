"""Reading CoNLL-style tagged sentences, the tag scheme, and the errors."""

import pytest

from rnnkit.data.conll import TaggedSentences, read_conll, tag_scheme
from tests.conftest import one_line_error

CONLL2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def error(*args, **kwargs) -> str:
    return one_line_error(read_conll, *args, **kwargs)


def test_conll2003_four_columns_with_docstart(tmp_path):
    path = write(tmp_path / "train.txt", CONLL2003)
    data = read_conll([path])
    assert isinstance(data, TaggedSentences)
    assert data.tokens == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert data.tags == [["B-ORG", "O", "B-MISC", "O", "O"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert data.sources == [f"{path}:3", f"{path}:9", f"{path}:14"]
    assert data.files == [path] and len(data) == 3


def test_two_columns_tabs_crlf_blank_runs_and_no_final_blank_line(tmp_path):
    path = write(tmp_path / "a.conll", "\n\nJohn\tB-PER\r\nlives \t O\r\n\r\n\r\n\r\n  \nin\tO\nParis\tB-LOC")
    data = read_conll(path)
    assert data.tokens == [["John", "lives"], ["in", "Paris"]]
    assert data.tags == [["B-PER", "O"], ["O", "B-LOC"]]
    assert data.sources == [f"{path}:3", f"{path}:9"]


def test_tokens_keep_non_ascii_spaces_and_bom(tmp_path):
    path = write(tmp_path / "a.conll", "\ufeffcafé\u00a0noir\tN\nx\tV\n")
    data = read_conll(path)
    assert data.tokens == [["café\u00a0noir", "x"]] and data.tags == [["N", "V"]]


def test_several_files_and_folder(tmp_path):
    a = write(tmp_path / "d" / "a.conll", "a X\n\nb Y\n")
    b = write(tmp_path / "d" / "b.conll", "c Z\n")
    data = read_conll([str(tmp_path / "d")])
    assert data.tokens == [["a"], ["b"], ["c"]] and data.files == [a, b]
    assert data.sources == [f"{a}:1", f"{a}:3", f"{b}:1"]


def test_predict_mode(tmp_path):
    path = write(tmp_path / "p.conll", "John\nlives\n\nhere\n")
    data = read_conll([path], tags_required=False)
    assert data.tokens == [["John", "lives"], ["here"]] and data.tags is None
    tagged = write(tmp_path / "t.conll", "John B-PER\n")
    assert read_conll([tagged], tags_required=False).tags == [["B-PER"]]
    mixed = write(tmp_path / "m.conll", "John B-PER\n\nhere\n")
    msg = error([mixed], tags_required=False)
    assert f"{mixed}:3: a token without a tag ('here')" in msg and f"{mixed}:1 has a tag" in msg
    msg = error([path, tagged], tags_required=False)
    assert f"{tagged}:1: a token with a tag" in msg and f"{path}:1 has none" in msg


def test_missing_tag_names_file_line_and_content(tmp_path):
    path = write(tmp_path / "a.conll", "John B-PER\nlives O\n\nalone\n")
    msg = error([path])
    assert f"{path}:4:" in msg and "expected a token and its tag" in msg and "'alone'" in msg


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n\n  \n", "is empty"),
    (b"-DOCSTART- -X- O\n\n\n", "holds no sentences"),
    (b"a O\x00\n", "looks binary (NUL byte at offset 3)"),
    (b"a O\n\nb\xc3 O\n", "is not UTF-8 text (byte 0xc3 at line 3, offset 6)"),
])
def test_bad_files(tmp_path, content, message):
    path = write(tmp_path / "f.conll", content)
    msg = error([path])
    assert "f.conll" in msg and message in msg


def test_a_file_without_sentences_among_others(tmp_path):
    good = write(tmp_path / "a.conll", "a O\n")
    bad = write(tmp_path / "b.conll", "-DOCSTART- O\n")
    msg = error([good, bad])
    assert "b.conll" in msg and "holds no sentences" in msg


@pytest.mark.parametrize("tags, scheme", [
    ([["B-PER", "I-PER", "O"], ["B-LOC"]], "bio"),
    (["I-ORG", "O", "I-ORG", "B-ORG"], "bio"),                 # IOB1 names
    ([["B-PER", "E-PER", "S-LOC", "O"]], "bioes"),
    (["S-LOC", "O"], "bioes"),
    (["NOUN", "VERB"], "plain"),
    (["B-PER", "NOUN"], "plain"),
    (["O", "O"], "plain"),
    ([], "plain"),
    (["B-", "O"], "plain"),
    (["b-per"], "plain"),
    (["L-PER", "U-LOC"], "plain"),
])
def test_tag_scheme(tags, scheme):
    assert tag_scheme(tags) == scheme


def test_tag_scheme_of_read_tags(tmp_path):
    assert tag_scheme(read_conll([write(tmp_path / "a.conll", CONLL2003)]).tags) == "bio"
