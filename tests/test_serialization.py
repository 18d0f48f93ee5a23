"""minigrad.save / minigrad.load: round trips, atomic writes, and refusal of bad files."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import minigrad
from minigrad import optim, serialization


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist())


def _write_npz(path, members):
    """Write an .npz by hand: `members` maps entry names to arrays (pickling allowed)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=True)
            archive.writestr(name + ".npy", buffer.getvalue())


def _header_bytes(tree, version=serialization.FORMAT_VERSION):
    document = {"format": serialization.FORMAT_NAME, "version": version, "tree": tree}
    return np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)


# ---- round trips ------------------------------------------------------------------------

def test_round_trip_keeps_dtypes_shapes_and_nesting(tmp_path):
    rng = np.random.default_rng(0)
    obj = {
        "model": {"0.weight": rng.standard_normal((3, 4)).astype(np.float32),
                  "0.bias": rng.standard_normal(4)},
        "meta": {"name": "run", "epoch": 7, "lr": 0.05, "done": False, "note": None,
                 "sizes": [1, 64, 64], "pair": (0.9, 0.999), "nested": {"deep": {"x": [1.5]}},
                 "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                 "scalar": np.float32(2.5), "ints": np.arange(5, dtype=np.int64)},
    }
    path = tmp_path / "ckpt.npz"
    minigrad.save(obj, path)
    back = minigrad.load(path)

    assert back["model"]["0.weight"].dtype == np.float32
    assert back["model"]["0.bias"].dtype == np.float64
    np.testing.assert_array_equal(back["model"]["0.weight"], obj["model"]["0.weight"])
    np.testing.assert_array_equal(back["model"]["0.bias"], obj["model"]["0.bias"])
    meta = back["meta"]
    plain = ("name", "epoch", "lr", "done", "note", "sizes", "pair", "nested")
    assert {k: meta[k] for k in plain} == {k: obj["meta"][k] for k in plain}
    assert type(meta["pair"]) is tuple and type(meta["epoch"]) is int
    np.testing.assert_array_equal(meta["fortran"], obj["meta"]["fortran"])
    assert meta["scalar"] == np.float32(2.5) and type(meta["scalar"]) is np.float32
    assert meta["ints"].dtype == np.int64


def test_integer_keys_come_back_as_integers(tmp_path):
    obj = {"state": {0: {"step": 1}, 1: {"step": 2}, "0": "a string key"}}
    minigrad.save(obj, tmp_path / "k.npz")
    assert minigrad.load(tmp_path / "k.npz") == obj


def test_non_finite_floats_round_trip(tmp_path):
    minigrad.save({"a": float("inf"), "b": float("-inf"), "c": float("nan")}, tmp_path / "f.npz")
    back = minigrad.load(tmp_path / "f.npz")
    assert back["a"] == float("inf") and back["b"] == float("-inf") and np.isnan(back["c"])


def test_a_tensor_leaf_is_saved_as_its_array(tmp_path):
    minigrad.save({"t": minigrad.Tensor(np.arange(3.0), requires_grad=True)}, tmp_path / "t.npz")
    back = minigrad.load(tmp_path / "t.npz")["t"]
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.01),
])
def test_optimizer_state_survives_save_and_load(tmp_path, make):
    params = [minigrad.Tensor(np.ones((2, 2), np.float32), requires_grad=True),
              minigrad.Tensor(np.zeros(3), requires_grad=True)]
    opt = make(params)
    for _ in range(2):
        params[0].grad = np.full((2, 2), 0.5, np.float32)
        params[1].grad = np.arange(3.0)
        opt.step()
    minigrad.save({"optimizer": opt.state_dict()}, tmp_path / "o.npz")

    fresh = make([minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params])
    fresh.load_state_dict(minigrad.load(tmp_path / "o.npz")["optimizer"])
    saved, restored = opt.state_dict(), fresh.state_dict()
    assert restored["param_groups"] == saved["param_groups"]
    assert sorted(restored["state"]) == [0, 1]
    for index in (0, 1):
        for name, value in saved["state"][index].items():
            np.testing.assert_array_equal(restored["state"][index][name], value)


def test_the_path_is_used_exactly_as_given(tmp_path):
    minigrad.save({"a": 1}, tmp_path / "no_suffix")
    assert os.listdir(tmp_path) == ["no_suffix"]
    assert minigrad.load(tmp_path / "no_suffix") == {"a": 1}


def test_entries_are_named_after_their_place_in_the_tree(tmp_path):
    minigrad.save({"model": {"w": np.zeros(2)}, "opt": {"state": {0: {"buf": np.zeros(2)}}}},
                  tmp_path / "n.npz")
    assert _entries(tmp_path / "n.npz") == ["__minigrad__.npy", "model/w.npy",
                                             "opt/state/0/buf.npy"]


# ---- what save refuses ------------------------------------------------------------------

@pytest.mark.parametrize("obj, match", [
    ({"a": {1, 2}}, r"cannot save the set at a"),
    ({"a": object()}, r"cannot save the object at a"),
    ({(1, 2): 0}, r"key \(1, 2\) .* only str and int keys"),
    ({True: 0}, r"key True .* only str and int keys"),
    ({"a": np.array([None, 1], dtype=object)}, r"array at a has dtype object"),
])
def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        minigrad.save(obj, tmp_path / "bad.npz")
    assert os.listdir(tmp_path) == []


def test_save_wants_a_dict(tmp_path):
    with pytest.raises(TypeError, match="expected a dict"):
        minigrad.save([np.zeros(2)], tmp_path / "x.npz")


# ---- atomicity --------------------------------------------------------------------------

def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    minigrad.save({"version": 1}, path)
    real_write = np.lib.format.write_array
    calls = []

    def write_then_fail(member, array, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the index went in; fail on the first array
            raise OSError("disk full (simulated)")
        return real_write(member, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        minigrad.save({"version": 2, "w": np.zeros(1000)}, path)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert minigrad.load(path) == {"version": 1}


def test_saving_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder to save into does not exist") as info:
        minigrad.save({"a": 1}, tmp_path / "nowhere" / "ckpt.npz")
    assert info.value.filename == str(tmp_path / "nowhere")


def test_the_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        minigrad.save({"a": 1}, tmp_path / "ckpt.npz")
    finally:
        os.umask(umask)
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o644


def test_a_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise PermissionError("rename refused (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError, match="rename refused"):
        minigrad.save({"w": np.zeros(3)}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


# ---- what load refuses ------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match="no such checkpoint file") as info:
        minigrad.load(path)
    assert info.value.filename == str(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    minigrad.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"ckpt\.npz.* not a valid minigrad checkpoint.*truncated"):
        minigrad.load(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match=r"noise\.npz.* not a NumPy \.npz archive"):
        minigrad.load(path)


def test_an_npz_from_elsewhere(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"foreign\.npz.* no '__minigrad__' entry"):
        minigrad.load(path)


def test_a_single_npy_file(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"single\.npy.* not an \.npz archive"):
        minigrad.load(path)


def test_a_pickled_object_array_is_never_unpickled(tmp_path):
    ran = []

    class Payload:
        def __reduce__(self):  # unpickling this would call ran.append
            return (ran.append, ("code ran",))

    path = tmp_path / "evil.npz"
    _write_npz(path, {"__minigrad__": _header_bytes({"dict": [["str", "x", {"array": "x"}]]}),
                      "x": np.array([Payload()], dtype=object)})
    with pytest.raises(ValueError, match=r"evil\.npz.* object array.*unpickling"):
        minigrad.load(path)
    assert ran == []


def test_an_index_naming_a_missing_array(tmp_path):
    path = tmp_path / "gap.npz"
    _write_npz(path, {"__minigrad__": _header_bytes({"dict": [["str", "w", {"array": "w"}]]})})
    with pytest.raises(ValueError, match=r"gap\.npz.* array 'w' named in its index is missing"):
        minigrad.load(path)


def test_an_index_that_is_not_json(tmp_path):
    path = tmp_path / "garbled.npz"
    _write_npz(path, {"__minigrad__": np.frombuffer(b'{"format": "minigrad-ch', dtype=np.uint8)})
    with pytest.raises(ValueError, match=r"garbled\.npz.* not well-formed JSON"):
        minigrad.load(path)


def test_an_index_with_a_malformed_node(tmp_path):
    path = tmp_path / "odd.npz"
    _write_npz(path, {"__minigrad__": _header_bytes({"dict": [["str", "w", {"blob": 3}]]})})
    with pytest.raises(ValueError, match=r"odd\.npz.* unknown node 'blob' at w"):
        minigrad.load(path)


def test_a_newer_format_version(tmp_path):
    path = tmp_path / "future.npz"
    _write_npz(path, {"__minigrad__": _header_bytes({"dict": []}, version=99)})
    with pytest.raises(ValueError, match=r"future\.npz.* format version 99 .* upgrade minigrad"):
        minigrad.load(path)


def test_a_corrupted_array_entry(tmp_path):
    path = tmp_path / "flipped.npz"
    minigrad.save({"w": np.arange(100.0)}, path)
    data = bytearray(path.read_bytes())
    start = data.find(b"w.npy") + 200  # inside the array's bytes: the stored CRC no longer fits
    data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flipped\.npz.* entry 'w' is damaged"):
        minigrad.load(path)
