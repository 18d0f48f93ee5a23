"""`save` and `load`: checkpoints as NumPy ``.npz`` files that are safe to load from anyone.

A checkpoint is a nested dict with str or int keys whose leaves are ndarrays, Python
numbers, strings, bools, None, and lists or tuples of those, for example::

    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "meta": {"epoch": 3}}, "run/checkpoint.npz")
    state = minigrad.load("run/checkpoint.npz")
    opt.load_state_dict(state["optimizer"])

File layout (a plain, uncompressed ``.npz``, readable by ``numpy.load``):

* one ``.npy`` member per array, named after its place in the tree (``model/0.weight.npy``;
  characters a zip name cannot carry become ``_``, clashes get a ``~n`` suffix);
* the member ``__minigrad__.npy``: a uint8 array holding a UTF-8 JSON document with the
  format name, its version, and the tree, in which every node is tagged: ``{"dict":
  [[key_kind, key, node], ...]}`` (key_kind ``"str"`` or ``"int"``), ``{"list": [...]}``,
  ``{"tuple": [...]}``, ``{"array": member}`` and ``{"scalar": member}`` (``member`` is
  the member's name without ``.npy``), ``{"float": "inf"|"-inf"|"nan"}`` and
  ``{"value": v}`` for JSON-native leaves. Keys live in the JSON, so every str or int key
  round-trips exactly, whatever the member names look like.

What `load` guarantees is in its docstring and in docs/checkpoints.md.
"""
from __future__ import annotations

import ast
import errno
import json
import math
import os
import re
import secrets
import socket
import zipfile
import zlib
from typing import IO, Any, BinaryIO

import numpy as np

__all__ = ["FORMAT_VERSION", "MAX_DEPTH", "CheckpointError", "load", "save"]

FORMAT_KEY = "__minigrad__"
FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1
MAX_DEPTH = 100        # nesting levels of dicts/lists/tuples that save writes and load reads
_MAX_NPY_HEADER = 10_000  # numpy's own default limit for a .npy header
_MAX_NAME = 200        # characters of a member name; the exact key is in the JSON anyway
_CHUNK = 1 << 20
_TEMP_TAG = ".minigrad-save."

PathLike = str | os.PathLike


class CheckpointError(ValueError):
    """`minigrad.load` was given something that is not an intact minigrad checkpoint.

    Every problem with the *content* of the file (not a zip, truncated, damaged, CRC
    mismatch, a header that lies about its size, too large for ``max_bytes``, a foreign
    or future format, a directory instead of a file) raises this one class. ``path`` and
    ``problem`` hold the file name and the description. A missing file still raises
    FileNotFoundError and an unreadable one PermissionError, as ``open`` does.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"minigrad.load: {path!r} is not a valid minigrad checkpoint: {problem}")
        self.path = path
        self.problem = problem


# ---- save -------------------------------------------------------------------------------

def save(obj: dict, path: PathLike) -> None:
    """Write the nested dict `obj` to `path` (exactly that name) as a minigrad ``.npz``.

    Raises TypeError, naming the offending place in the tree, for a leaf or key that
    cannot be stored without pickling (objects, sets, object or structured arrays,
    non-str/int keys), and ValueError for data nested deeper than ``MAX_DEPTH`` levels or
    a container that contains itself. The write is atomic (a temporary file in the same
    folder, ``.<name>.minigrad-save.<host>.<pid>.<random>.tmp``, fsynced, then renamed
    over `path`); temporary files left by a killed save to the same path are removed.
    If `path` is a symbolic link, the link itself is replaced by the new file and its old
    target is left as it was (save to ``os.path.realpath(path)`` to replace the target).
    The process umask is never changed: a new file gets the mode ``open`` would give it,
    an existing file keeps its mode.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"minigrad.save: expected a dict (e.g. {{'model': model.state_dict()}}), "
                        f"got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays, depth=0, active=set())
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "tree": tree}
    try:
        document = json.dumps(header, allow_nan=False).encode("utf-8")
    except ValueError as err:  # e.g. an int with more digits than Python will print
        raise ValueError(f"minigrad.save: a value in the tree cannot be written: {err}") from None
    entries = {FORMAT_KEY: np.frombuffer(document, dtype=np.uint8), **arrays}
    _write_atomically(os.fspath(path), entries)


def _encode(node: Any, where: str, arrays: dict, depth: int, active: set) -> dict:
    """The JSON form of `node`; arrays go into `arrays` under a name derived from `where`."""
    if isinstance(node, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"minigrad.save: the data at {where or '/'} is nested more than "
                             f"{MAX_DEPTH} levels deep; flatten it (e.g. join keys with '/')")
        if id(node) in active:
            raise ValueError(f"minigrad.save: the {type(node).__name__} at {where or '/'} "
                             "contains itself; a self-referencing structure cannot be saved")
        active.add(id(node))
        try:
            return _encode_container(node, where, arrays, depth, active)
        finally:
            active.discard(id(node))
    if hasattr(node, "data") and isinstance(node.data, np.ndarray) \
            and hasattr(node, "grad_fn"):
        node = node.data  # a Tensor is saved as its values (it loads back as an ndarray)
    if isinstance(node, (np.ndarray, np.generic)):
        dtype = node.dtype
        if dtype.hasobject:
            raise TypeError(f"minigrad.save: the array at {where} has dtype object, which "
                            "cannot be saved without pickling; convert it to a numeric dtype")
        if dtype.fields is not None or dtype.subdtype is not None:
            raise TypeError(f"minigrad.save: the array at {where} has the structured dtype "
                            f"{dtype}; save each field as its own array")
        kind = "array" if isinstance(node, np.ndarray) else "scalar"
        return {kind: _add_array(arrays, where, np.asarray(node))}
    if node is None or isinstance(node, (bool, int, str)):
        return {"value": node}
    if isinstance(node, float):
        # JSON has no inf/nan: store those as strings the decoder turns back into floats
        return {"value": node} if math.isfinite(node) else {"float": repr(node)}
    raise TypeError(f"minigrad.save: cannot save the {type(node).__name__} at {where or '/'}; "
                    "leaves must be ndarrays, numbers, strings, bools, None or lists of those")


def _encode_container(node: Any, where: str, arrays: dict, depth: int, active: set) -> dict:
    if isinstance(node, dict):
        items = []
        for key, value in node.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"minigrad.save: key {key!r} at {where or '/'} is a "
                                f"{type(key).__name__}; only str and int keys can be saved")
            kind = "str" if isinstance(key, str) else "int"
            child = f"{where}/{key}" if where else str(key)
            items.append([kind, str(key) if kind == "str" else int(key),
                          _encode(value, child, arrays, depth + 1, active)])
        return {"dict": items}
    kind = "list" if isinstance(node, list) else "tuple"
    return {kind: [_encode(v, f"{where}/{i}", arrays, depth + 1, active)
                   for i, v in enumerate(node)]}


# Characters a zip member name cannot carry faithfully: NUL truncates it on reading,
# control characters and lone surrogates cannot be encoded, "\\" becomes "/" on Windows.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")


def _add_array(arrays: dict, where: str, array: np.ndarray) -> str:
    name = _UNSAFE.sub("_", where or "array")[:_MAX_NAME]
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
    prefix = f".{os.path.basename(path)[:100]}{_TEMP_TAG}{_host()}."
    _remove_stale_temporaries(folder, prefix)
    temporary = os.path.join(folder, f"{prefix}{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # 0o666 minus the umask, applied by the kernel, exactly as open() would do
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        try:
            old_mode = os.stat(path).st_mode & 0o777
        except OSError:
            old_mode = None
        if old_mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, old_mode)  # replacing a file keeps its permissions
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


def _host() -> str:
    """This machine's name, reduced to characters that are safe in a file name."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _remove_stale_temporaries(folder: str, prefix: str) -> None:
    """Delete temporary files of earlier saves to the same path whose process is gone.

    Only files of this host whose process id no longer runs (a save killed by SIGKILL or
    a power cut) are removed; a save still running elsewhere keeps its file. POSIX only:
    elsewhere there is no harmless way to ask whether a process id is alive.
    """
    if os.name != "posix":
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: an existence check that delivers nothing
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


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

def load(path: PathLike, *, max_bytes: int | None = None) -> dict:
    """Read a checkpoint written by `save`; safe on files from anyone.

    Guarantees: nothing is unpickled or executed; before any array is read, every
    member's declared shape x itemsize is checked against its stored size and the total
    against ``max_bytes`` (default: the file's own size, which an uncompressed checkpoint
    never exceeds; pass a larger value to read a recompressed file you trust); every
    member's CRC-32 is verified; every member is referenced by the index exactly once;
    the result equals what was saved (keys, types, dtypes, shapes, values).

    Raises FileNotFoundError for a missing file, and CheckpointError (a ValueError)
    naming the file, the member and the problem for anything else that is not an intact
    minigrad checkpoint.
    """
    path = os.fspath(path)
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 0):
        raise ValueError(f"minigrad.load: max_bytes must be a non-negative int or None, "
                         f"got {max_bytes!r}")
    if os.path.isdir(path):
        raise CheckpointError(path, "it is a directory; give the path of a checkpoint file")
    try:
        handle = open(path, "rb")  # noqa: SIM115  (closed by the `with` below; open's errors are told apart first)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "minigrad.load: no such checkpoint file",
                                path) from None
    except IsADirectoryError:
        raise CheckpointError(path, "it is a directory; give the path of a checkpoint file")
    with handle:
        try:
            return _Reader(handle, path, max_bytes).read()
        except CheckpointError:
            raise
        except RecursionError:
            raise CheckpointError(path, "its structure is nested too deeply to read") from None
        except MemoryError:
            raise CheckpointError(path, "reading it ran out of memory") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as err:
            raise CheckpointError(path, f"the archive is damaged or truncated: {err}") from None
        except Exception as err:  # noqa: BLE001  (a last net: a malformed file never escapes as a raw error)
            raise CheckpointError(path, f"it is malformed ({type(err).__name__}: {err})") from None


class _Reader:
    """One pass over one checkpoint file: index first, then each referenced member once."""

    def __init__(self, handle: BinaryIO, path: str, max_bytes: int | None) -> None:
        self.handle, self.path = handle, path
        self.file_size = os.fstat(handle.fileno()).st_size
        self.max_bytes = max_bytes
        self.used: set[str] = set()

    def fail(self, problem: str) -> CheckpointError:
        return CheckpointError(self.path, problem)

    def read(self) -> dict:
        magic = self.handle.read(6)
        self.handle.seek(0)
        if magic == b"\x93NUMPY":
            raise self.fail("it holds a single .npy array, not an .npz archive")
        if not zipfile.is_zipfile(self.handle):
            raise self.fail("it is not a NumPy .npz archive (or it is truncated)")
        self.handle.seek(0)
        with zipfile.ZipFile(self.handle) as archive:
            self.archive = archive
            self.members = self._check_members(archive.infolist())
            if FORMAT_KEY not in self.members:
                raise self.fail(f"it has no {FORMAT_KEY!r} entry, so it is an .npz written by "
                                "something other than minigrad.save")
            header = self._read_header()
            result = self._decode(header["tree"], "", 0)
            unused = sorted(set(self.members) - self.used - {FORMAT_KEY})
            if unused:
                raise self.fail(f"the member {unused[0] + '.npy'!r} is not referenced by its "
                                "index (the archive does not match the index)")
            if not isinstance(result, dict):
                raise self.fail("its index does not describe a dict at the top level")
            return result

    def _check_members(self, infos: list) -> dict:
        """Entry name (without .npy) -> ZipInfo, after the checks that need no reading."""
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not name.endswith(".npy"):
                raise self.fail(f"the member {name!r} is not a .npy array")
            if name[:-4] in members:
                raise self.fail(f"the member {name!r} appears twice in the archive")
            if info.flag_bits & 0x1:
                raise self.fail(f"the member {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.fail(f"the member {name!r} uses zip compression method "
                                f"{info.compress_type}, which minigrad.load does not read")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self.fail(f"the member {name!r} declares {info.file_size} bytes but "
                                f"stores {info.compress_size}")
            members[name[:-4]] = info
            total += info.file_size
        limit = self.file_size if self.max_bytes is None else self.max_bytes
        if total > limit:
            default = " (by default the file's own size, since minigrad.save never compresses)" \
                if self.max_bytes is None else ""
            raise self.fail(f"its members would decode to {total} bytes, more than "
                            f"max_bytes={limit}{default}; if you trust this file, pass "
                            f"minigrad.load(path, max_bytes={total})")
        return members

    def _read_header(self) -> dict:
        raw = self._read_array(FORMAT_KEY)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail(f"its {FORMAT_KEY!r} entry is not a UTF-8 JSON document")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except RecursionError:
            raise self.fail("its index is nested too deeply") from None
        except (UnicodeDecodeError, ValueError) as err:
            raise self.fail(f"its index is not well-formed JSON: {err}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME \
                or "tree" not in header:
            raise self.fail(f"its index does not describe a {FORMAT_NAME!r} file")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(f"format version {version!r} is not a valid version "
                            "(a positive integer)")
        if version > FORMAT_VERSION:
            raise self.fail(f"format version {version!r} is not one this minigrad reads "
                            f"(up to {FORMAT_VERSION}); upgrade minigrad")
        return header

    def _decode(self, node: Any, where: str, depth: int) -> Any:
        """Rebuild the value that `_encode` turned into `node`, checking it as we go."""
        at = where or "/"
        if depth > MAX_DEPTH:
            raise self.fail(f"its index is nested more than {MAX_DEPTH} levels deep at {at}")
        if not isinstance(node, dict) or len(node) != 1:
            raise self.fail(f"its index has a malformed node at {at}: {node!r:.80}")
        (kind, body), = node.items()
        if kind == "dict" and isinstance(body, list):
            result: dict = {}
            for item in body:
                if not (isinstance(item, list) and len(item) == 3 and (
                        (item[0] == "str" and isinstance(item[1], str)) or
                        (item[0] == "int" and isinstance(item[1], int)
                         and not isinstance(item[1], bool)))):
                    raise self.fail(f"its index has a malformed dict entry at {at}")
                key = item[1]
                if key in result:
                    raise self.fail(f"its index repeats the key {key!r} at {at}")
                child = f"{where}/{key}" if where else str(key)
                result[key] = self._decode(item[2], child, depth + 1)
            return result
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [self._decode(v, f"{where}/{i}", depth + 1) for i, v in enumerate(body)]
            return items if kind == "list" else tuple(items)
        if kind in ("array", "scalar") and isinstance(body, str):
            array = self._read_array(body)
            if kind == "scalar":
                if array.ndim != 0:
                    raise self.fail(f"the scalar at {at} is stored with shape {array.shape}")
                return array[()]
            return array
        if kind == "value" and (body is None or isinstance(body, (bool, int, float, str))):
            return body
        if kind == "float" and body in ("inf", "-inf", "nan"):
            return float(body)
        raise self.fail(f"its index has an unknown node {kind!r} at {at}")

    def _read_array(self, name: str) -> np.ndarray:
        """The array in member `name`.npy, after checking its header, size and CRC."""
        info = self.members.get(name)
        if info is None:
            raise self.fail(f"the array {name!r} named in its index is missing")
        if name in self.used:
            raise self.fail(f"the array {name!r} is referenced twice by its index")
        self.used.add(name)
        try:
            with self.archive.open(info) as stream:
                return self._read_npy(name, info, stream)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
            raise self.fail(f"the entry {name!r} is damaged or truncated: {err}") from None

    def _read_npy(self, name: str, info: zipfile.ZipInfo, stream: IO[bytes]) -> np.ndarray:
        crc = 0

        def take(n: int) -> bytes:
            nonlocal crc
            data = stream.read(n)
            if len(data) != n:
                raise self.fail(f"the entry {name!r} is damaged: it ends early")
            crc = zlib.crc32(data, crc)
            return data

        if info.file_size < 10 or take(6) != b"\x93NUMPY":
            raise self.fail(f"the entry {name!r} is damaged: it has no .npy header")
        major = take(2)[0]
        if major not in (1, 2, 3):
            raise self.fail(f"the entry {name!r} has .npy format version {major}, "
                            "which is unknown")
        length_bytes = take(2 if major == 1 else 4)
        header_length = int.from_bytes(length_bytes, "little")
        if header_length > min(_MAX_NPY_HEADER, info.file_size):
            raise self.fail(f"the entry {name!r} is damaged: its .npy header claims "
                            f"{header_length} bytes")
        text = take(header_length).decode("utf-8" if major == 3 else "latin-1", "replace")
        dtype, shape, fortran = self._parse_npy_header(name, text)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        offset = 8 + len(length_bytes) + header_length
        if offset + nbytes != info.file_size:
            raise self.fail(f"the entry {name!r} is damaged: its header declares shape "
                            f"{shape} of {dtype} ({nbytes} bytes) but it stores "
                            f"{info.file_size - offset} bytes")
        buffer = bytearray(nbytes)
        view = memoryview(buffer)
        for start in range(0, nbytes, _CHUNK):
            view[start:start + _CHUNK] = take(min(_CHUNK, nbytes - start))
        if stream.read(1) != b"":
            raise self.fail(f"the entry {name!r} is damaged: it holds more bytes than declared")
        if crc != info.CRC:
            raise self.fail(f"the entry {name!r} is damaged: its CRC-32 does not match")
        if dtype.itemsize == 0:
            array = np.zeros(shape, dtype)
        else:
            array = np.frombuffer(buffer, dtype=dtype, count=count)
            array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
        return array

    def _parse_npy_header(self, name: str, text: str) -> tuple[np.dtype, tuple, bool]:
        bad = self.fail(f"the entry {name!r} is damaged: its .npy header is not "
                        f"{{'descr', 'fortran_order', 'shape'}}: {text[:80]!r}")
        try:
            header = ast.literal_eval(text)
        except Exception:  # noqa: BLE001  (literal_eval raises many types on garbage; all mean "damaged")
            raise bad from None
        if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
            raise bad
        descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
        if not isinstance(fortran, bool) or not isinstance(shape, tuple) or len(shape) > 64 \
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                           for d in shape):
            raise bad
        if not isinstance(descr, str):
            raise self.fail(f"the entry {name!r} has a structured dtype, which minigrad "
                            "checkpoints never hold")
        try:
            dtype = np.dtype(descr)
        except Exception:  # noqa: BLE001  (an untrusted string: any failure means unknown)
            raise self.fail(f"the entry {name!r} has the unknown dtype {descr!r:.40}") from None
        if dtype.hasobject:
            raise self.fail(f"the entry {name!r} is an object array, which could only be "
                            "read by unpickling (refused: loading must not run code)")
        if dtype.fields is not None or dtype.subdtype is not None:
            raise self.fail(f"the entry {name!r} has a structured dtype, which minigrad "
                            "checkpoints never hold")
        return dtype, shape, fortran
