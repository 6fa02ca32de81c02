"""Reading text: files, folders, globs, the default corpus, and the errors."""

import pytest

from rnnkit.data.text import read_corpus, read_text, resolve_paths, stdlib_files
from rnnkit.data.tokenizers import UNK, CharTokenizer, tokenizer_from_state
from rnnkit.errors import UsageError


def test_file_folder_and_glob(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("bee\n")
    (tmp_path / "d" / "sub" / "a.txt").write_text("ant\n")
    (tmp_path / "d" / ".hidden").write_text("no\n")
    (tmp_path / "c.md").write_text("sea")
    assert [p.name for p in resolve_paths(str(tmp_path / "d"))] == ["b.txt", "a.txt"]
    assert [p.name for p in resolve_paths(str(tmp_path / "**" / "*.txt"))] == ["b.txt", "a.txt"]
    text, files = read_corpus([str(tmp_path / "c.md"), str(tmp_path / "d")])
    assert text == "sea\nbee\nant\n" and len(files) == 3
    assert read_corpus([str(tmp_path / "d")], max_chars=5)[0] == "bee\na"


def test_default_corpus_is_the_standard_library():
    files = stdlib_files()
    names = {p.name for p in files}
    assert {"os.py", "textwrap.py"} <= names
    assert not any("site-packages" in p.parts or "test" in p.parts for p in files)
    text, read = read_corpus(None, max_chars=10_000)
    assert len(text) == 10_000 and read


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"  \n\n", "is empty"),
    (b"abc\x00def", "looks binary (NUL byte at offset 3)"),
    (b"line one\nline \xff two\n", "is not UTF-8 text (byte 0xff at line 2, offset 14)"),
])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        read_text(path)
    assert message in str(err.value) and "f.txt" in str(err.value)


def test_missing_paths(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        resolve_paths(str(tmp_path / "nope.txt"))
    with pytest.raises(UsageError, match="matches no files"):
        resolve_paths(str(tmp_path / "*.nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="contains no files"):
        resolve_paths(str(tmp_path / "empty"))


def test_utf8_bom_is_dropped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffhé".encode("utf-8"))
    assert read_text(path) == "hé"


def test_char_tokenizer_round_trip_and_unknown():
    tok = CharTokenizer.fit("hello héllo wörld\n")
    text = "hello wörld\n"
    assert tok.decode(tok.encode(text)) == text
    ids = tok.encode("hé€x")
    assert ids.tolist()[2:] == [0, 0] and tok.decode(ids) == "hé" + UNK + UNK
    assert tok.vocab_size == len(set("hello héllo wörld\n")) + 1
    back = tokenizer_from_state(tok.state_dict())
    assert back.chars == tok.chars and back.encode(text).tolist() == tok.encode(text).tolist()
    # against a plain dictionary lookup, on characters outside the basic plane too
    sample = "a😀b\tä\x7f"
    tok = CharTokenizer.fit(sample[::2])
    assert tok.encode(sample).tolist() == [tok.index.get(c, 0) for c in sample]
