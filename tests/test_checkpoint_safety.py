"""minigrad.load on hostile or damaged files, and the save-side guarantees (issue 10, section 2).

Every malformed file must raise the one documented CheckpointError (a ValueError) that
names the file and the problem; nothing may allocate more than the file justifies or
return data that differs from what was saved.
"""
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad
from minigrad import serialization
from minigrad.serialization import CheckpointError


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _index(tree, version=serialization.FORMAT_VERSION):
    document = {"format": serialization.FORMAT_NAME, "version": version, "tree": tree}
    return np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    """members: name (with .npy) -> bytes."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _one_array_file(path, array, tree=None, compression=zipfile.ZIP_STORED):
    tree = tree or {"dict": [["str", "w", {"array": "w"}]]}
    _write_zip(path, {"__minigrad__.npy": _npy(_index(tree)), "w.npy": _npy(array)}, compression)


# ---- memory -----------------------------------------------------------------------------

def test_a_compressed_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.npz"
    _one_array_file(path, np.zeros(4 << 20), compression=zipfile.ZIP_DEFLATED)  # 32 MiB
    assert path.stat().st_size < 100_000
    with pytest.raises(CheckpointError, match=r"bomb\.npz.*33554\d+ bytes.*max_bytes=\d+"):
        minigrad.load(path)
    # a user who trusts the file can raise the bound, and then it loads exactly
    back = minigrad.load(path, max_bytes=40 << 20)
    assert back["w"].shape == (4 << 20,) and not back["w"].any()
    with pytest.raises(CheckpointError, match="max_bytes=1000"):
        minigrad.load(path, max_bytes=1000)


def test_an_array_referenced_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    tree = {"list": [{"array": "w"} for _ in range(1000)]}
    _one_array_file(path, np.zeros(1000), tree={"dict": [["str", "x", tree]]})
    with pytest.raises(CheckpointError, match=r"twice\.npz.*'w' is referenced twice"):
        minigrad.load(path)


def test_a_header_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    small = _npy(np.zeros(10))
    huge = small.replace(b"'shape': (10,), ", b"'shape': (1000000000000,), ")
    header_length = int.from_bytes(small[8:10], "little") + len(huge) - len(small)
    huge = huge[:8] + header_length.to_bytes(2, "little") + huge[10:]
    _write_zip(path, {"__minigrad__.npy": _npy(_index({"dict": [["str", "w", {"array": "w"}]]})),
                      "w.npy": huge})
    with pytest.raises(CheckpointError, match=r"'w' is damaged: its header declares shape "
                                              r"\(1000000000000,\)"):
        minigrad.load(path)


@pytest.mark.parametrize("bad", [-5, 1.5, "big", True])
def test_max_bytes_must_be_a_count(tmp_path, bad):
    minigrad.save({"a": 1}, tmp_path / "c.npz")
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        minigrad.load(tmp_path / "c.npz", max_bytes=bad)


# ---- integrity --------------------------------------------------------------------------

def test_an_edited_shape_in_a_header_is_detected(tmp_path):
    path = tmp_path / "edited.npz"
    minigrad.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    assert data.count(b"(1000,)") == 1
    path.write_bytes(data.replace(b"(1000,)", b"( 100,)"))
    with pytest.raises(CheckpointError, match=r"edited\.npz.*'w' is damaged"):
        minigrad.load(path)


def test_every_single_bit_flip_is_detected_or_harmless(tmp_path):
    """Flip one bit in every byte of a small checkpoint: each load raises CheckpointError
    or returns exactly what was saved (a flip in a zip timestamp is harmless)."""
    original = {"w": np.arange(24.0).reshape(2, 3, 4).astype(np.float32),
                "meta": {"step": 7, "name": "run"}, "b": np.array([1, 2, 3])}
    path = tmp_path / "flip.npz"
    minigrad.save(original, path)
    clean = path.read_bytes()
    harmless = 0
    for i in range(len(clean)):
        data = bytearray(clean)
        data[i] ^= 1 << (i % 8)
        path.write_bytes(bytes(data))
        try:
            back = minigrad.load(path)
        except CheckpointError:
            continue
        harmless += 1
        assert back["meta"] == original["meta"], f"byte {i}"
        for key in ("w", "b"):
            assert back[key].dtype == original[key].dtype, f"byte {i}"
            np.testing.assert_array_equal(back[key], original[key], err_msg=f"byte {i}")
    assert 0 < harmless < len(clean) // 4


def test_a_member_the_index_does_not_name_is_refused(tmp_path):
    path = tmp_path / "extra.npz"
    _write_zip(path, {"__minigrad__.npy": _npy(_index({"dict": []})), "x.npy": _npy(np.ones(3))})
    with pytest.raises(CheckpointError, match=r"'x\.npy' is not referenced by its index"):
        minigrad.load(path)


def test_a_member_name_used_twice_is_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("__minigrad__.npy",
                             _npy(_index({"dict": [["str", "w", {"array": "w"}]]})))
            archive.writestr("w.npy", _npy(np.ones(3)))
            archive.writestr("w.npy", _npy(np.zeros(3)))
    with pytest.raises(CheckpointError, match=r"'w\.npy' appears twice"):
        minigrad.load(path)


def test_loaded_arrays_are_ordinary_writable_arrays(tmp_path):
    minigrad.save({"w": np.arange(6.0).reshape(2, 3), "f": np.asfortranarray(np.ones((2, 3)))},
                  tmp_path / "c.npz")
    back = minigrad.load(tmp_path / "c.npz")
    back["w"][0, 0] = 5.0
    back["f"][1, 2] = 5.0
    assert back["w"][0, 0] == 5.0 and back["f"].flags.f_contiguous


# ---- keys round-trip or are refused -----------------------------------------------------

def test_keys_that_look_like_member_names_round_trip(tmp_path):
    obj = {"w": np.array([1.0]), "w.npy": np.array([2.0]), "__minigrad__": np.array([3.0]),
           "__minigrad__.npy": np.array([4.0]), "a\x00b": np.array([5.0]),
           "a\x00c": np.array([6.0]), "\ud800lone": np.array([7.0]), "x" * 70_000: np.array([8.0]),
           "back\\slash": np.array([9.0]), "": np.array([10.0])}
    minigrad.save(obj, tmp_path / "k.npz")
    back = minigrad.load(tmp_path / "k.npz")
    assert list(back) == list(obj)
    for key, value in obj.items():
        np.testing.assert_array_equal(back[key], value, err_msg=repr(key[:20]))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.dictionaries(st.one_of(st.text(st.characters(codec=None, min_codepoint=0)),
                                 st.integers(-2**70, 2**70)),
                       st.integers(0, 3), max_size=6))
def test_any_key_that_saves_loads_back_exactly(tmp_path_factory, keys):
    obj = {key: {"v": np.full(n, float(n)), "n": n} for key, n in keys.items()}
    path = tmp_path_factory.mktemp("keys") / "k.npz"
    minigrad.save(obj, path)
    back = minigrad.load(path)
    assert list(back) == list(obj)
    for key in obj:
        assert type(key) is type(next(k for k in back if k == key and type(k) is type(key)))
        np.testing.assert_array_equal(back[key]["v"], obj[key]["v"])
        assert back[key]["n"] == obj[key]["n"]


# ---- one clear error for every malformed file ------------------------------------------

def test_a_directory_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="it is a directory"):
        minigrad.load(tmp_path)


def test_a_text_file_never_mentions_pickle(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not the weights you are looking for\n" * 20)
    with pytest.raises(CheckpointError) as info:
        minigrad.load(path)
    assert "pickle" not in str(info.value)
    assert "not a NumPy .npz archive" in str(info.value)


def test_a_raw_member_without_npy_header_is_refused(tmp_path):
    path = tmp_path / "raw.npz"
    _write_zip(path, {"__minigrad__.npy": _npy(_index({"dict": [["str", "w", {"array": "w"}]]})),
                      "w.npy": b"just some bytes, no header"})
    with pytest.raises(CheckpointError, match=r"'w' is damaged: it has no \.npy header"):
        minigrad.load(path)


@pytest.mark.parametrize("header", [
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,",   # tokenize.TokenError
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
    b"{'descr': 7, 'fortran_order': False, 'shape': (3,)}",
    b"{'descr': '<f8', 'fortran_order': 'no', 'shape': (3,)}",
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}",
    b"{'descr': '<f8', 'fortran_order': False, 'shape': " + b"(" * 200 + b")" * 200 + b"}",
    b"[" * 3000 + b"]" * 3000,                                     # RecursionError
    b"__import__('os').system('echo pwned')",
])
def test_a_garbled_npy_header_is_a_checkpoint_error(tmp_path, header):
    header = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(24)
    path = tmp_path / "garbled.npz"
    _write_zip(path, {"__minigrad__.npy": _npy(_index({"dict": [["str", "w", {"array": "w"}]]})),
                      "w.npy": member})
    with pytest.raises(CheckpointError, match=r"'w'"):
        minigrad.load(path)


@pytest.mark.parametrize("version, match", [(-1, "not a valid version"), (0, "not a valid version"),
                                            ("1", "not a valid version"), (None, "not a valid"),
                                            (2, "upgrade minigrad")])
def test_unknown_format_versions_are_refused(tmp_path, version, match):
    path = tmp_path / "v.npz"
    _write_zip(path, {"__minigrad__.npy": _npy(_index({"dict": []}, version=version))})
    with pytest.raises(CheckpointError, match=match):
        minigrad.load(path)


def test_a_deeply_nested_index_is_a_checkpoint_error(tmp_path):
    for document, match in [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not a valid minigrad"),
        (json.dumps({"format": serialization.FORMAT_NAME, "version": 1,
                     "tree": json.loads('{"list": [' * 300 + "]}" * 300)}).encode(),
         "nested more than 100 levels"),
    ]:
        path = tmp_path / "deep.npz"
        _write_zip(path, {"__minigrad__.npy": _npy(np.frombuffer(document, np.uint8))})
        with pytest.raises(CheckpointError, match=match):
            minigrad.load(path)


def test_unsupported_compression_and_encryption_are_checkpoint_errors(tmp_path):
    path = tmp_path / "bz.npz"
    _one_array_file(path, np.ones(3), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(CheckpointError, match=r"\.npy' uses zip compression method 12"):
        minigrad.load(path)
    path = tmp_path / "lz.npz"
    _one_array_file(path, np.ones(3))
    data = bytearray(path.read_bytes())
    for signature in (b"PK\x01\x02", b"PK\x03\x04"):  # method field -> 99 (AES), flag -> encrypted
        at = -1
        while (at := data.find(signature, at + 1)) >= 0:
            offset = at + (10 if signature == b"PK\x01\x02" else 8)
            data[offset:offset + 2] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="compression method 99"):
        minigrad.load(path)


def test_a_non_zip_and_a_truncated_index_are_checkpoint_errors(tmp_path):
    minigrad.save({"w": np.arange(10.0)}, tmp_path / "c.npz")
    data = (tmp_path / "c.npz").read_bytes()
    for n in (0, 3, 30, len(data) - 30, len(data) - 1):
        (tmp_path / "cut.npz").write_bytes(data[:n])
        with pytest.raises(CheckpointError):
            minigrad.load(tmp_path / "cut.npz")


# ---- what save refuses ------------------------------------------------------------------

def test_save_refuses_deep_nesting_with_a_clear_error(tmp_path):
    deep = node = {}
    for _ in range(150):
        node["d"] = node = {}
    with pytest.raises(ValueError, match=r"minigrad.save: the data at d/d/.* nested more than 100"):
        minigrad.save(deep, tmp_path / "deep.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_self_reference_with_a_clear_error(tmp_path):
    loop = {"a": [1, 2]}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match=r"the dict at a/2 contains itself"):
        minigrad.save(loop, tmp_path / "loop.npz")
    shared = [1.0]
    minigrad.save({"x": shared, "y": shared}, tmp_path / "shared.npz")  # shared, not a loop
    assert minigrad.load(tmp_path / "shared.npz") == {"x": [1.0], "y": [1.0]}


def test_save_refuses_structured_arrays(tmp_path):
    with pytest.raises(TypeError, match="structured dtype"):
        minigrad.save({"s": np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])}, tmp_path / "s.npz")


def test_nesting_up_to_the_limit_round_trips(tmp_path):
    deep = node = {}
    for _ in range(serialization.MAX_DEPTH - 1):
        node["d"] = node = {}
    node["w"] = np.ones(2)
    minigrad.save(deep, tmp_path / "deep.npz")
    back = minigrad.load(tmp_path / "deep.npz")
    for _ in range(serialization.MAX_DEPTH - 1):
        back = back["d"]
    np.testing.assert_array_equal(back["w"], [1.0, 1.0])


# ---- files on disk ----------------------------------------------------------------------

def test_save_never_touches_the_umask(tmp_path, monkeypatch):
    def no_umask(mask):
        raise AssertionError("minigrad.save changed the process umask")

    monkeypatch.setattr(os, "umask", no_umask)
    minigrad.save({"a": 1}, tmp_path / "new.npz")
    (tmp_path / "old.npz").write_bytes(b"")
    os.chmod(tmp_path / "old.npz", 0o640)
    minigrad.save({"a": 1}, tmp_path / "old.npz")
    assert (tmp_path / "old.npz").stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")
def test_a_killed_save_leaves_a_recognisable_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "ckpt.npz"
    child = textwrap.dedent(f"""
        import os, sys, time
        import numpy as np
        import minigrad
        def hang(fd):
            print("writing", flush=True)
            time.sleep(60)
        os.fsync = hang
        minigrad.save({{"w": np.zeros(1000)}}, {str(target)!r})
    """)
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert process.stdout.readline() == b"writing\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith(".ckpt.npz.minigrad-save.") \
        and left[0].endswith(".tmp"), left

    (tmp_path / ".other.npz.minigrad-save.x.1.y.tmp").write_bytes(b"")  # another target's
    minigrad.save({"w": np.ones(3)}, target)
    assert sorted(os.listdir(tmp_path)) == [".other.npz.minigrad-save.x.1.y.tmp", "ckpt.npz"]


def test_a_live_save_keeps_its_temporary(tmp_path):
    name = f".ckpt.npz{serialization._TEMP_TAG}{serialization._host()}.{os.getppid()}.ab.tmp"
    (tmp_path / name).write_bytes(b"in progress elsewhere")
    minigrad.save({"a": 1}, tmp_path / "ckpt.npz")
    assert sorted(os.listdir(tmp_path)) == sorted([name, "ckpt.npz"])


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_saving_over_a_symlink_replaces_the_link_not_its_target(tmp_path):
    target = tmp_path / "real.npz"
    minigrad.save({"v": 1}, target)
    link = tmp_path / "latest.npz"
    os.symlink(target, link)
    minigrad.save({"v": 2}, link)
    assert not link.is_symlink()
    assert minigrad.load(link) == {"v": 2} and minigrad.load(target) == {"v": 1}
