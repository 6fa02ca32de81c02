"""The one atomic writer and the output-path check."""

import os
import stat

import pytest

from rnnkit.errors import UsageError
from rnnkit.io.atomic import atomic_open, check_output_path, write_atomic
from tests.conftest import one_line_error


@pytest.fixture
def umask():
    """Set a umask for the test, put the old one back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_files_get_the_umask_permissions(tmp_path, umask, mask):
    umask(mask)
    for i, data in enumerate([b"bytes", "text", lambda f: f.write(b"callback")]):
        path = write_atomic(tmp_path / f"f{i}", data)
        assert _mode(path) == 0o666 & ~mask, (oct(_mode(path)), oct(mask))
    with atomic_open(tmp_path / "rows.csv", "w", newline="") as f:
        f.write("a,b\n")
    assert _mode(tmp_path / "rows.csv") == 0o666 & ~mask


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_checkpoints_get_the_umask_permissions(tmp_path, umask):
    import torch

    from rnnkit.training.checkpoint_io import AtomicCheckpointIO

    umask(0o002)
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"w": torch.arange(3.0)}, path)
    assert _mode(path) == 0o664
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3.0))


def test_contents_and_replacement(tmp_path):
    path = tmp_path / "sub" / "x.txt"
    write_atomic(path, "héllo\n")
    assert path.read_bytes() == "héllo\n".encode("utf-8")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.txt"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "x.bin"
    write_atomic(path, b"old")

    def half(f):
        f.write(b"half written")
        raise error

    with pytest.raises(type(error)):
        write_atomic(path, half)
    with pytest.raises(type(error)):
        with atomic_open(path, "w") as f:
            f.write("half")
            raise error
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_output_path_refuses_a_folder_an_existing_file_and_any_input(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    out = tmp_path / "out.csv"
    assert check_output_path(out, [data]) == out                # new file: fine
    out.write_text("old")
    assert "already exists; pass --overwrite" in one_line_error(check_output_path, out, [data])
    assert check_output_path(out, [data], overwrite=True) == out
    assert "is a folder" in one_line_error(check_output_path, tmp_path, [data])
    # its own input: refused even with overwrite, by any name
    for same in (data, tmp_path / "." / "in.csv"):
        assert "is also an input" in one_line_error(check_output_path, same, [str(data)], True)
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    assert "is also an input" in one_line_error(check_output_path, link, [data], True)
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    assert "is also an input" in one_line_error(check_output_path, hard, [data], True)
    assert "is also an input" in one_line_error(check_output_path, data, [str(tmp_path / "*.csv")], True)
    assert "is also an input" in one_line_error(check_output_path, data, [tmp_path], True)
    # a new file inside an input folder is not an input
    assert check_output_path(tmp_path / "new.csv", [tmp_path]) == tmp_path / "new.csv"
    assert data.read_text() == "a\n1\n"


def test_the_flag_is_named(tmp_path):
    out = tmp_path / "x"
    out.write_text("")
    with pytest.raises(UsageError, match="^--model-out: "):
        check_output_path(out, flag="--model-out")


def test_torch_save_and_copy_are_atomic(tmp_path, monkeypatch):
    import torch

    from rnnkit.io import atomic
    from rnnkit.io.atomic import copy_atomic, save_torch_atomic

    ckpt = save_torch_atomic({"w": torch.arange(4.0)}, tmp_path / "a.pt")
    assert torch.equal(torch.load(ckpt, weights_only=True)["w"], torch.arange(4.0))
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 9000)              # more than one 1 MiB chunk
    dst = copy_atomic(big, tmp_path / "sub" / "copy.bin")
    assert dst.read_bytes() == big.read_bytes()
    dst.write_bytes(b"old")
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        copy_atomic(big, dst)
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in dst.parent.iterdir()) == ["copy.bin"]


def test_several_files_are_written_all_or_none(tmp_path, umask):
    from rnnkit.io.atomic import write_files_atomic

    a, b = tmp_path / "m.onnx", tmp_path / "m.json"
    b.write_text("old json")

    def write_a(tmp):
        tmp.write_bytes(b"graph")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("exporter failed")

    with pytest.raises(RuntimeError, match="exporter failed"):
        write_files_atomic({a: write_a, b: broken})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]   # no temporary file, no new file
    assert b.read_text() == "old json"
    umask(0o027)
    assert write_files_atomic({a: write_a, b: lambda tmp: tmp.write_text("new")}) == [a, b]
    assert a.read_bytes() == b"graph" and b.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]
    if os.name != "nt":
        assert _mode(a) == _mode(b) == 0o640


def test_output_path_folder_and_refusal_rules(tmp_path):
    out = tmp_path / "no" / "m.onnx"
    assert check_output_path(out) == out                       # predict creates the folder
    assert "the folder" in one_line_error(check_output_path, out, folder_must_exist=True)
    assert "does not exist; expected an existing folder" in one_line_error(check_output_path, out,
                                                                           folder_must_exist=True)
    own = tmp_path / "config.yaml"
    refuse = lambda p: "is a file of the run directory itself" if p.name == "config.yaml" else None  # noqa: E731
    msg = one_line_error(check_output_path, own, overwrite=True, refuse=refuse)
    assert msg.startswith("--out: ") and msg.endswith("is a file of the run directory itself")
    assert check_output_path(tmp_path / "m.onnx", refuse=refuse) == tmp_path / "m.onnx"
    assert not own.exists() and not (tmp_path / "no").exists()
