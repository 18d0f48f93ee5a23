"""`save` and `load`: checkpoints as NumPy ``.npz`` files that loading never unpickles.

A checkpoint is a nested dict with str or int keys whose leaves are ndarrays, Python
numbers, strings, bools, None, and lists or tuples of those, for example::

    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "meta": {"epoch": 3}}, "run/checkpoint.npz")
    state = minigrad.load("run/checkpoint.npz")
    opt.load_state_dict(state["optimizer"])

File layout (a plain ``.npz``, readable by ``numpy.load``):

* one ``.npy`` entry per array, named after its place in the tree (``model/0.weight``);
* the entry ``__minigrad__``: a uint8 array holding a UTF-8 JSON document with the format
  name, its version, and the tree, in which every node is tagged: ``{"dict": [[key_kind,
  key, node], ...]}`` (key_kind ``"str"`` or ``"int"``, so integer keys such as an
  optimiser's parameter indices come back as ints), ``{"list": [...]}``, ``{"tuple": [...]}``,
  ``{"array": entry}``, ``{"scalar": entry}`` (a NumPy scalar, kept as a 0-d array) and
  ``{"value": v}`` for JSON-native leaves.

Writing is atomic: the file is written to a temporary name in the same folder, flushed
to disk, then renamed over the target, so a crash leaves the old file or the new one,
never half of one. Loading reads with ``allow_pickle=False`` (a file cannot run code)
and checks the format entry, the JSON and every referenced array before returning.
"""
from __future__ import annotations

import errno
import json
import math
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

FORMAT_KEY = "__minigrad__"
FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1

PathLike = str | os.PathLike


# ---- save -------------------------------------------------------------------------------

def save(obj: dict, path: PathLike) -> None:
    """Write the nested dict `obj` to `path` (exactly that name) as a minigrad ``.npz``.

    Raises TypeError, naming the offending place in the tree, for a leaf or key that
    cannot be stored without pickling (objects, sets, object arrays, non-str/int keys).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"minigrad.save: expected a dict (e.g. {{'model': model.state_dict()}}), "
                        f"got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "tree": tree}
    document = json.dumps(header, allow_nan=False).encode("utf-8")
    entries = {FORMAT_KEY: np.frombuffer(document, dtype=np.uint8), **arrays}
    _write_atomically(os.fspath(path), entries)


def _encode(node: Any, where: str, arrays: dict) -> dict:
    """The JSON form of `node`; arrays go into `arrays` under a name derived from `where`."""
    if isinstance(node, dict):
        items = []
        for key, value in node.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"minigrad.save: key {key!r} at {where or '/'} is a "
                                f"{type(key).__name__}; only str and int keys can be saved")
            kind = "str" if isinstance(key, str) else "int"
            child = f"{where}/{key}" if where else str(key)
            items.append([kind, key, _encode(value, child, arrays)])
        return {"dict": items}
    if isinstance(node, (list, tuple)):
        kind = "list" if isinstance(node, list) else "tuple"
        return {kind: [_encode(v, f"{where}/{i}", arrays) for i, v in enumerate(node)]}
    if hasattr(node, "data") and isinstance(getattr(node, "data"), np.ndarray) \
            and hasattr(node, "grad_fn"):
        node = node.data  # a Tensor is saved as its values (it loads back as an ndarray)
    if isinstance(node, (np.ndarray, np.generic)):
        if node.dtype.hasobject:
            raise TypeError(f"minigrad.save: the array at {where} has dtype object, which "
                            "cannot be saved without pickling; convert it to a numeric dtype")
        kind = "array" if isinstance(node, np.ndarray) else "scalar"
        return {kind: _add_array(arrays, where, np.asarray(node))}
    if node is None or isinstance(node, (bool, int, str)):
        return {"value": node}
    if isinstance(node, float):
        # JSON has no inf/nan: store those as strings the decoder turns back into floats
        return {"value": node} if math.isfinite(node) else {"float": repr(node)}
    raise TypeError(f"minigrad.save: cannot save the {type(node).__name__} at {where or '/'}; "
                    "leaves must be ndarrays, numbers, strings, bools, None or lists of those")


def _add_array(arrays: dict, where: str, array: np.ndarray) -> str:
    name = where or "array"
    if name == FORMAT_KEY or name in arrays:
        suffix = 1
        while f"{name}~{suffix}" in arrays:
            suffix += 1
        name = f"{name}~{suffix}"
    arrays[name] = array
    return name


def _write_atomically(path: str, entries: dict) -> None:
    """Write `entries` as an .npz beside `path`, fsync it, then rename it onto `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "minigrad.save: the folder to save into does "
                                "not exist (create it first, e.g. os.makedirs)", folder)
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                     dir=folder)
    try:
        os.chmod(temporary, _file_mode(path))  # mkstemp makes it private (0600)
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, array in entries.items():
                    with archive.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _file_mode(path: str) -> int:
    """The mode a plain open() would give: the old file's, else 0666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- load -------------------------------------------------------------------------------

def load(path: PathLike) -> dict:
    """Read a checkpoint written by `save`, never unpickling anything.

    Raises FileNotFoundError for a missing file, and ValueError naming the file and the
    problem for anything that is not an intact minigrad checkpoint (truncated, corrupt,
    another program's .npz, an object array that would need pickle).
    """
    path = os.fspath(path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "minigrad.load: no such checkpoint file",
                                path) from None
    with handle:
        try:
            archive = np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise _corrupt(path, f"it is not a NumPy .npz archive (or it is truncated): {err}")
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _corrupt(path, "it holds a single .npy array, not an .npz archive")
        with archive:
            header = _read_header(archive, path)
            return _decode(header["tree"], archive, path, "")


def _corrupt(path: str, problem: str) -> ValueError:
    return ValueError(f"minigrad.load: {path!r} is not a valid minigrad checkpoint: {problem}")


def _read_entry(archive: Any, name: str, path: str) -> np.ndarray:
    try:
        return archive[name]
    except KeyError:
        raise _corrupt(path, f"the array {name!r} named in its index is missing") from None
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise _corrupt(path, f"the entry {name!r} is an object array, which could only "
                                 "be read by unpickling (refused: loading must not run code)")
        raise _corrupt(path, f"the entry {name!r} is damaged: {err}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise _corrupt(path, f"the entry {name!r} is damaged or truncated: {err}") from None


def _read_header(archive: Any, path: str) -> dict:
    if FORMAT_KEY not in archive.files:
        raise _corrupt(path, f"it has no {FORMAT_KEY!r} entry, so it is an .npz written by "
                             "something other than minigrad.save")
    raw = _read_entry(archive, FORMAT_KEY, path)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _corrupt(path, f"its {FORMAT_KEY!r} entry is not a UTF-8 JSON document")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _corrupt(path, f"its index is not well-formed JSON: {err}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME or "tree" not in header:
        raise _corrupt(path, f"its index does not describe a {FORMAT_NAME!r} file")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise _corrupt(path, f"format version {version!r} is not one this minigrad reads "
                             f"(up to {FORMAT_VERSION}); upgrade minigrad")
    return header


def _decode(node: Any, archive: Any, path: str, where: str) -> Any:
    """Rebuild the value that `_encode` turned into `node`, checking its shape as we go."""
    if not isinstance(node, dict) or len(node) != 1:
        raise _corrupt(path, f"its index has a malformed node at {where or '/'}: {node!r:.80}")
    (kind, body), = node.items()
    if kind == "dict" and isinstance(body, list):
        result = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 3 and
                    ((item[0] == "str" and isinstance(item[1], str)) or
                     (item[0] == "int" and isinstance(item[1], int)))):
                raise _corrupt(path, f"its index has a malformed dict entry at {where or '/'}")
            key = item[1]
            result[key] = _decode(item[2], archive, path, f"{where}/{key}" if where else str(key))
        return result
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [_decode(v, archive, path, f"{where}/{i}") for i, v in enumerate(body)]
        return items if kind == "list" else tuple(items)
    if kind in ("array", "scalar") and isinstance(body, str):
        array = _read_entry(archive, body, path)
        return array if kind == "array" else array[()]
    if kind == "value" and (body is None or isinstance(body, (bool, int, float, str))):
        return body
    if kind == "float" and body in ("inf", "-inf", "nan"):
        return float(body)
    raise _corrupt(path, f"its index has an unknown node {kind!r} at {where or '/'}")
