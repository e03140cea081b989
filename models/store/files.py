"""The files PatronDesk reads and writes on the server's disk, at the one place that decides
which files they may be (issue 18, items 7, 8 and 13).

Writing (`PrivateFile`, `write_private`, `check_target`): exports, the personal-information
export, attachment saves, configuration exports, import reports and backups.
- For a staff session (the app, `patrondesk serve`: its user is not the operating-system
  account that runs PatronDesk), a document, as a file read is (below): never in a system
  tree, never hidden nor in a hidden folder (also through a link to one): not ~/.bash_profile,
  ~/.ssh/authorized_keys, a cron table, a file a shell or a service reads and runs (a desk
  operator once saved an attachment holding `$(command)` as a login script). The command
  line is that account itself (`document=False`): its backups may go to a hidden folder.
- The target is never a special file (a device, a FIFO, a socket), a folder, a symbolic link or
  one of the open database's own files (the database, its -wal, -shm and -journal), whatever
  the caller says; an existing file is replaced only with `overwrite` (the user confirmed, or
  passed --force).
- The content goes to `NAME.part`, created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW, mode
  0600: a link planted there is refused, never followed), flushed to disk, then put in place:
  without `overwrite` by a hard link, which fails if the name was taken meanwhile; with it by a
  rename. A failed or stopped write leaves neither the file nor the `.part`.
- Every file written is 0600: readable by the user running PatronDesk only.

Reading (`read_user_file`), a file a staff user names to attach: the rule is that it must be a
document that user put there, never something of the system or of PatronDesk itself.
- Regular files only, opened without following a symbolic link and without waiting (O_NOFOLLOW
  | O_NONBLOCK), checked on the open descriptor (fstat): no FIFO, device, socket or folder.
- Owned by the user running PatronDesk (a file of another account, of root or of the database
  server is not theirs to hand over), outside the system's trees (/etc, /proc, /sys, /dev, /run,
  /boot, /var/lib, /var/log, ...: a PatronDesk run as root owns those too), and not hidden (no
  part of the path starting with a dot: ~/.ssh, ~/.pgpass, ~/.local/share/patrondesk).
- Never one of the database's own files (also under another name: the same inode), nor any
  SQLite file (a backup or a copy of the database holds every password hash).
- At most `max_bytes` + 1 bytes are read, whatever the file's size said.

No Textual here, and nothing heavy at import: the command line checks the database's mode
before it loads the database layer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from models.errors import PatronDeskError, ValidationError

SQLITE_HEADER = b"SQLite format 3\x00"
DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")
PRIVATE_MODE = 0o600
SYSTEM_TREES = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/boot",
    "/var/lib",
    "/var/log",
    "/var/run",
    "/var/spool",
    "/var/mail",
    "/var/backups",
    "/var/cache",
    "/var/db",
)


class FileRefused(PatronDeskError):
    """A file that may not be read or written; the message says why, in words."""


class TargetExists(FileRefused):
    """The target exists: it is replaced only when the user confirms (or passes --force)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists: choose another name, or replace it")
        self.path = path


class FileTooLarge(FileRefused):
    """The file is larger than the limit; `size` is its size when known."""

    def __init__(self, path: Path, size: int | None, limit: int) -> None:
        super().__init__(f"{path.name} is too large")
        self.path, self.size, self.limit = path, size, limit


# --- The database's own files -------------------------------------------------------------------


def database_path() -> Path | None:
    """The file of the SQLite database open now (None: PostgreSQL, or none open)."""
    import sys

    base = sys.modules.get("models.store.base")  # not loaded: no database is open
    db = getattr(getattr(base, "database", None), "obj", None)
    if db is None:
        return None
    from peewee import SqliteDatabase

    name = db.database if isinstance(db, SqliteDatabase) else None
    return Path(name) if isinstance(name, str) and name not in ("", ":memory:") else None


def database_files(extra: Path | str | None = None) -> list[Path]:
    """The open database's files (and `extra`'s, a database file named by the caller): the
    database, its -wal, -shm and -journal, as named and resolved."""
    found: list[Path] = []
    for base in (database_path(), Path(extra) if extra else None):
        if base is None:
            continue
        for name in (base, Path(os.path.realpath(base))):
            found += [Path(f"{name}{suffix}") for suffix in DATABASE_SUFFIXES]
    return list(dict.fromkeys(found))


def _is_database_file(path: Path, st: os.stat_result | None, extra: Path | str | None) -> bool:
    files = database_files(extra)
    if not files:
        return False
    resolved = Path(os.path.realpath(path.parent)) / path.name
    if path in files or resolved in files or Path(os.path.realpath(path)) in files:
        return True
    if st is None:
        return False
    for name in files:  # the same file under another name (a hard link)
        try:
            other = os.stat(name)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


# --- Writing ------------------------------------------------------------------------------------


def check_target(
    path: str | Path,
    *,
    overwrite: bool = False,
    database: Path | str | None = None,
    document: bool = True,
) -> Path:
    """The file to write for `path`, or `FileRefused` (`TargetExists` when it exists and
    `overwrite` is not given). `database`: a database file to refuse besides the open one
    (the backup command names one without opening it). `document`: a staff session's file,
    which must be a document (see the module's docstring); False for the command line."""
    text = str(path or "").strip()
    if not text:
        raise FileRefused("give the name of the file to write")
    target = Path(os.path.abspath(Path(text).expanduser()))
    if document:
        _a_document(target, Path(os.path.realpath(target.parent)) / target.name, "written")
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileRefused(f"{target} cannot be checked: {exc.strerror or exc}") from None
    if _is_database_file(target, st, database):
        raise FileRefused(f"{target} is one of the database's own files: choose another name")
    if st is None:
        if not target.parent.is_dir():
            raise FileRefused(f"the folder {target.parent} does not exist")
        return target
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        raise FileRefused(
            f"{target} is {kind}, not a file: only a new or a regular file is written"
        )
    if not overwrite:
        raise TargetExists(target)
    return target


class PrivateFile:
    """A file written as `NAME.part` (exclusively, mode 0600) and put in place when the block
    ends without error (or at `commit()`); on an error neither it nor the `.part` is left.

        with PrivateFile(path, overwrite=False) as f:
            f.stream.write(text)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        binary: bool = False,
        encoding: str = "utf-8",
        newline: str | None = None,
        database: Path | str | None = None,
        document: bool = True,
    ) -> None:
        self.overwrite, self.binary, self.database = overwrite, binary, database
        self.encoding, self.newline, self.document = encoding, newline, document
        self.target = check_target(path, overwrite=overwrite, database=database, document=document)
        self.part = self.target.with_name(self.target.name + ".part")
        self.stream: IO[Any] | None = None
        self.committed = False

    def __enter__(self) -> PrivateFile:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.part, flags, PRIVATE_MODE)
        except FileExistsError:
            raise FileRefused(
                f"{self.part} is in the way (left by a stopped export, or not ours): "
                "remove it, or choose another name"
            ) from None
        except OSError as exc:
            raise FileRefused(f"{self.part} cannot be written: {exc.strerror or exc}") from None
        if self.binary:
            self.stream = os.fdopen(fd, "wb")
        else:
            self.stream = os.fdopen(fd, "w", encoding=self.encoding, newline=self.newline)
        return self

    def write(self, data: Any) -> int:
        assert self.stream is not None
        return self.stream.write(data)

    def close_part(self) -> None:
        """Flush the `.part` to disk and close it (a caller that writes it by name, as
        SQLite's backup does, closes it first)."""
        if self.stream is not None and not self.stream.closed:
            self.stream.flush()
            os.fsync(self.stream.fileno())
            self.stream.close()

    def commit(self) -> Path:
        """Put the file in place under its name. The target is checked again: what appeared
        there meanwhile is not replaced unless `overwrite`, and never a special file."""
        if self.committed:
            return self.target
        self.close_part()
        check_target(
            self.target, overwrite=self.overwrite, database=self.database, document=self.document
        )
        if self.overwrite:
            os.replace(self.part, self.target)
        else:
            try:
                os.link(self.part, self.target)  # fails if the name was taken meanwhile
            except FileExistsError:
                raise TargetExists(self.target) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                os.rename(self.part, self.target)  # a file system without hard links
            self.part.unlink(missing_ok=True)
        _sync_folder(self.target.parent)
        self.committed = True
        return self.target

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.commit()
                return
            except BaseException:
                self._discard()
                raise
        self._discard()

    def _discard(self) -> None:
        if self.stream is not None and not self.stream.closed:
            with contextlib.suppress(OSError):
                self.stream.close()
        self.part.unlink(missing_ok=True)
        if self.committed:  # the work around it failed after the file was placed
            self.target.unlink(missing_ok=True)
            self.committed = False


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_private(
    path: str | Path,
    data: str | bytes,
    *,
    overwrite: bool = False,
    encoding: str = "utf-8",
    document: bool = True,
) -> Path:
    """Write `data` to `path` by the rules of `PrivateFile`; returns the file written."""
    with PrivateFile(path, overwrite=overwrite, binary=isinstance(data, bytes),
                     encoding=encoding, document=document) as f:  # fmt: skip
        f.write(data)
    return f.target


def create_private(path: str | Path) -> None:
    """Create an empty file 0600 that must not exist yet (a new SQLite database, before SQLite
    opens it: its -wal and -shm take the database file's mode)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(path, flags, PRIVATE_MODE))


def exposure_warning(path: str | Path | None = None) -> str | None:
    """One line when the database file (`path`, else the SQLite database open now) or its
    -wal / -shm can be read by other users of the machine; None when it is private."""
    base = Path(path).expanduser() if path else database_path()
    if base is None:
        return None
    for suffix in ("", "-wal", "-shm"):
        name = Path(f"{base}{suffix}")
        try:
            st = os.stat(name)
        except OSError:
            continue
        if st.st_mode & 0o044:
            return (
                f"the database file {name} can be read by other users of this machine "
                f"(mode {stat.S_IMODE(st.st_mode):04o}): chmod 600 {base}*"
            )
    return None


# --- Reading ------------------------------------------------------------------------------------


def _under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree + "/")


def _a_document(path: Path, resolved: Path, verb: str) -> None:
    """`FileRefused` unless `path` (and `resolved`, where it leads) is a document: outside the
    system's trees, nothing of it hidden (see the module's docstring)."""
    if any(_under(str(p), tree) for p in (path, resolved) for tree in SYSTEM_TREES):
        raise FileRefused(f"{path} is a system file: only documents are {verb} here")
    if any(part.startswith(".") for p in (path, resolved) for part in p.parts[1:]):
        raise FileRefused(
            f"{path} is a hidden file or in a hidden folder: only documents are {verb} here"
        )


def check_document(path: str | Path) -> Path:
    """`path` as a file a staff session may have PatronDesk read by name (an import from the
    app): a document (not hidden, not in a system tree, also where a link leads) and a regular
    file, not a link (a pipe waited on forever, /dev/zero was read forever). `FileRefused`
    saying why; the file as given (absolute)."""
    file = Path(os.path.abspath(Path(str(path).strip()).expanduser()))
    _a_document(file, Path(os.path.realpath(file)), "read")
    try:
        st = os.lstat(file)
    except FileNotFoundError:
        raise FileRefused(f"{file} does not exist") from None
    except OSError as exc:
        raise FileRefused(f"{file} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise FileRefused(f"{file} is a symbolic link: give the path of the file itself")
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise FileRefused(f"{file} is {_kind(st.st_mode)}, not a regular file")
    return file


SIDE_FILE_MAX = 20_000_000  # bytes of a reference file beside an import


def read_side_text(path: Path, max_bytes: int = SIDE_FILE_MAX) -> str:
    """The UTF-8 text of a reference file an import reads beside the file it was given
    (FOLIO's ref-data, RERO's patron types and libraries): a regular file only, not a link,
    opened without waiting (a FIFO there once held an import forever), at most `max_bytes`.
    `OSError` otherwise: the reader goes without it, as without a file that is not there."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            raise OSError(errno.EINVAL, f"{path.name} is not a reference file")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"{path.name} is too large")
    return data.decode("utf-8-sig")


def read_user_file(path: str | Path, max_bytes: int) -> tuple[str, bytes]:
    """The name and content of the file a staff user names (to attach it), or `FileRefused`
    saying why it cannot be used (`FileTooLarge` past `max_bytes`). The rules are in the
    module's docstring."""
    text = str(path or "").strip()
    if not text:
        raise FileRefused("give the path of a file")
    file = Path(os.path.abspath(Path(text).expanduser()))
    _a_document(file, Path(os.path.realpath(file)), "read")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(file, flags)
    except FileNotFoundError:
        raise FileRefused(f"{file} does not exist") from None
    except PermissionError:
        raise FileRefused(f"{file} cannot be read: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRefused(
                f"{file} is a symbolic link: give the path of the file itself"
            ) from None
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket
            raise FileRefused(f"{file} is a socket, not a regular file") from None
        raise FileRefused(f"{file} cannot be read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileRefused(f"{file} is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{file} is {_kind(st.st_mode)}, not a regular file")
        if st.st_uid != os.geteuid():
            raise FileRefused(
                f"{file} belongs to another user of this machine: copy it into your own "
                "folder first"
            )
        if _is_database_file(file, st, None):
            raise FileRefused(f"{file} is one of the database's own files")
        if st.st_size > max_bytes:
            raise FileTooLarge(file, st.st_size, max_bytes)
        chunks: list[bytes] = []
        left = max_bytes + 1  # one byte more tells a file that grew past the limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise FileRefused(f"{file} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    content = b"".join(chunks)
    if len(content) > max_bytes:
        raise FileTooLarge(file, None, max_bytes)
    if content.startswith(SQLITE_HEADER):
        raise FileRefused(
            f"{file} is a database file (a backup or a copy holds every password hash): "
            "it cannot be attached"
        )
    return file.name, content


__all__ = [
    "FileRefused",
    "check_document",
    "read_side_text",
    "FileTooLarge",
    "PrivateFile",
    "TargetExists",
    "check_target",
    "create_private",
    "database_files",
    "database_path",
    "exposure_warning",
    "read_user_file",
    "write_private",
]


def read_user_text(path: str | Path, max_bytes: int, field: str = "file") -> str:
    """The text of a file a staff user names (a file of identifiers, a letter's body), read as
    `read_user_file` reads a file to attach; UTF-8, a byte that is not replaced. Every refusal
    (no path, too large, a FIFO, a device, a link, the database...) is a `ValidationError` at
    `field`, for the form's field or the command line's one error line."""
    if not str(path or "").strip():
        raise ValidationError({field: "is required: the path of a file"})
    try:
        _, data = read_user_file(path, max_bytes)
    except FileTooLarge:
        raise ValidationError({field: f"is larger than {max_bytes:,} bytes"}) from None
    except FileRefused as exc:
        raise ValidationError({field: exc.message}) from None
    return data.decode("utf-8", errors="replace")
