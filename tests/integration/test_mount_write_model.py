"""Model-based random test of the local write path (in the spirit of fsx): a seeded generator of
operations -- create, open (read-only, read-write, O_TRUNC, O_APPEND, O_EXCL), writes at random
offsets and sizes (sparse ones too), reads through open descriptors, truncate grow and shrink by
path and descriptor, fallocate, fsync, renames of files and directories (over existing ones too),
unlink (also of open files), mkdir, rmdir, writes through a shared mmap, chmod u+x, utime,
whole-file reads (some after the kernel dropped its cached pages, so the daemon serves them) --
applied to the Demo library of a seafs mount and to a copy of the same tree on local disk (the
model). Every step must end the same on both sides (same result, same errno); every few steps
and at the end the whole trees are compared (names, kinds, sizes, bytes, the owner-x bit, and
the mtimes utime set); then after an unmount and a remount with the same cache directory once
more. Some runs remount in the middle too, so changes continue on a journal read back from disk.

Seeded and reproducible: a failure names the seed and lists the last operations (the whole
sequence is written to model-ops.log beside the test's mount). Bounded for CI; longer runs:
  SEAFS_MODEL_OPS=5000 SEAFS_MODEL_SEED=1234 pytest tests/integration/test_mount_write_model.py
or tests/bench/model_long.sh for many seeds; SEAFS_MODEL_DEBUG=1 gives the daemon's debug log
(every FUSE request) in m/seafs.log."""

import errno
import mmap
import os
import pathlib
import random
import stat
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import ctl, mount_factory, fresh_small_demo_server  # noqa: E402
from seafserver import demo  # noqa: E402

assert mount_factory and fresh_small_demo_server  # fixtures, used by name
LIB = "Demo"
OPS = int(os.environ.get("SEAFS_MODEL_OPS") or 300)
SEED = os.environ.get("SEAFS_MODEL_SEED")
CHECK_EVERY = int(os.environ.get("SEAFS_MODEL_CHECK_EVERY") or 20)
# A remount after a step happens with probability 1/REMOUNT_EVERY (each costs about a second),
# drawn from a generator of its own: the operations of a seed do not depend on the run's length.
REMOUNT_EVERY = int(os.environ.get("SEAFS_MODEL_REMOUNT_EVERY") or 150)
MAX_OPEN = 8
NAMES = ["a", "b", "c", "f1", "f2", "d1", "d2", "x y", "\u00e9t\u00e9", "\u65e5\u672c"]
LOG_TAIL = 40


class Mismatch(AssertionError):
    pass


def outcome(action):
    """("ok", value) or ("err", errno name) of calling action()."""
    try:
        return ("ok", action())
    except OSError as error:
        return ("err", errno.errorcode.get(error.errno, error.errno))


class Side:
    """One of the two trees: root, plus the descriptors the run holds open on it."""

    def __init__(self, name, root):
        self.name = name
        self.root = pathlib.Path(root)
        self.fds = {}  # handle id -> fd

    def path(self, rel):
        return self.root / rel if rel else self.root

    def close_all(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def drop_cached_pages(path):
    """Asks the kernel to forget the file's clean cached pages, so that the next read of them
    goes to the daemon (the page cache would otherwise serve most reads of what was written)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def snapshot(root, times, drop_cache=False):
    """{rel: (kind, size, exec bit, bytes or None, mtime or None)} of a whole tree; mtimes only
    for the files in `times` (set by utime and unchanged since). With drop_cache, each file's
    cached pages are dropped before it is read."""
    root = pathlib.Path(root)
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath, name)
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode):
                tree[rel] = ("dir",)
            else:
                if drop_cache:
                    drop_cached_pages(path)
                tree[rel] = ("file", st.st_size, bool(st.st_mode & stat.S_IXUSR),
                             path.read_bytes(), int(st.st_mtime) if rel in times else None)
    return tree


def describe_difference(model, mounted):
    problems = []
    for rel in sorted(set(model) | set(mounted)):
        want, got = model.get(rel), mounted.get(rel)
        if want == got:
            continue
        if want is None or got is None:
            problems.append("%s: %s on the mount, %s in the model" % (
                rel, "absent" if got is None else got[0], "absent" if want is None else want[0]))
        elif want[0] != got[0]:
            problems.append("%s: a %s on the mount, a %s in the model" % (rel, got[0], want[0]))
        else:
            what = []
            if want[1] != got[1]:
                what.append("size %d, model %d" % (got[1], want[1]))
            if want[2] != got[2]:
                what.append("exec bit %s, model %s" % (got[2], want[2]))
            if want[3] != got[3]:
                at = next((i for i, (a, b) in enumerate(zip(want[3], got[3])) if a != b),
                          min(len(want[3]), len(got[3])))
                what.append("bytes differ from offset %d" % at)
            if want[4] != got[4]:
                what.append("mtime %s, model %s" % (got[4], want[4]))
            problems.append("%s: %s" % (rel, ", ".join(what)))
    return problems


class Run:
    def __init__(self, seed, mount, model_root, log_path):
        self.rng = random.Random(seed)
        self.seed = seed
        self.mount = mount
        self.model = Side("model", model_root)
        self.mounted = Side("mount", mount.path(LIB))
        self.sides = (self.model, self.mounted)
        self.handles = {}  # handle id -> (flags, relative path at open)
        self.next_handle = 1
        self.times = {}  # rel -> mtime set by utime (files), while nothing changed it since
        self.log = []
        self.log_file = open(log_path, "w")
        self.step = 0

    # --- bookkeeping ---------------------------------------------------------------------------

    def note(self, text):
        line = "%5d %s" % (self.step, text)
        self.log.append(line)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def fail(self, message):
        self.log_file.close()
        tail = "\n".join(self.log[-LOG_TAIL:])
        raise Mismatch("seed %s, step %d: %s\nreproduce: SEAFS_MODEL_SEED=%s SEAFS_MODEL_OPS=%d"
                       "\nlast operations:\n%s\n(all of them: %s)" % (
                           self.seed, self.step, message, self.seed, self.step + 1, tail,
                           self.log_file.name))

    def both(self, what, action):
        """Runs action(side) on the model and on the mount; their outcomes must be equal."""
        results = [outcome(lambda side=side: action(side)) for side in self.sides]
        self.note("%s -> %s" % (what, short(results[0])))
        if results[0] != results[1]:
            self.fail("%s: mount %s, model %s" % (what, short(results[1]), short(results[0])))
        return results[0]

    def changed(self, rel):
        """rel's content changed: its mtime is now whatever the clock said."""
        self.times.pop(rel, None)

    def moved(self, old, new):
        for rel in list(self.times):
            if rel == new or rel.startswith(new + "/"):
                del self.times[rel]
        for rel in list(self.times):
            if rel == old or rel.startswith(old + "/"):
                self.times[new + rel[len(old):]] = self.times.pop(rel)

    def removed(self, rel):
        for key in list(self.times):
            if key == rel or key.startswith(rel + "/"):
                del self.times[key]

    # --- choosing what to work on (from the model, which is the truth) --------------------------

    def entries(self):
        files, dirs = [], [""]
        for dirpath, dirnames, filenames in os.walk(self.model.root):
            rel_dir = os.path.relpath(dirpath, self.model.root)
            rel_dir = "" if rel_dir == "." else rel_dir
            dirs += [os.path.join(rel_dir, d) for d in sorted(dirnames)]
            files += [os.path.join(rel_dir, f) for f in sorted(filenames)]
        return sorted(files), sorted(dirs)

    def any_file(self):
        files, _ = self.entries()
        return self.rng.choice(files) if files else self.new_path()

    def any_dir(self):
        return self.rng.choice(self.entries()[1])

    def new_path(self):
        return os.path.join(self.any_dir(), self.rng.choice(NAMES))

    def any_path(self):
        files, dirs = self.entries()
        choice = self.rng.random()
        if choice < 0.5 and files:
            return self.rng.choice(files)
        if choice < 0.7 and len(dirs) > 1:
            return self.rng.choice(dirs[1:])
        return self.new_path()

    def data(self, size):
        return self.rng.randbytes(size)

    def size(self):
        r = self.rng.random()
        if r < 0.5:
            return self.rng.randint(1, 4096)
        if r < 0.9:
            return self.rng.randint(1, 70000)
        return self.rng.randint(100000, 400000)

    def offset(self, size_now):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.randint(0, max(size_now, 0))  # inside or at the end
        if r < 0.6:
            return size_now
        if r < 0.9:
            return size_now + self.rng.randint(1, 200000)  # past the end: a gap
        return self.rng.randint(0, 5 << 20)

    def handle_size(self, handle):
        return os.fstat(self.model.fds[handle]).st_size

    # --- operations ----------------------------------------------------------------------------

    def op_open(self):
        if len(self.handles) >= MAX_OPEN:
            return self.op_close()
        kind = self.rng.choice(["r", "r+", "w", "a", "a+", "excl", "r", "r+"])
        rel = self.any_file() if kind != "excl" or self.rng.random() < 0.3 else self.new_path()
        flags = {"r": os.O_RDONLY, "r+": os.O_RDWR, "w": os.O_RDWR | os.O_CREAT | os.O_TRUNC,
                 "a": os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                 "a+": os.O_RDWR | os.O_APPEND | os.O_CREAT,
                 "excl": os.O_RDWR | os.O_CREAT | os.O_EXCL}[kind]
        handle = self.next_handle
        result = self.both("open %r %s as #%d" % (rel, kind, handle),
                           lambda side: side.fds.setdefault(handle,
                                                            os.open(side.path(rel), flags, 0o644))
                           and None)
        if result[0] == "ok":
            self.handles[handle] = (flags, rel)
            self.next_handle += 1
            if flags & os.O_TRUNC:
                self.changed(rel)

    def op_close(self):
        if not self.handles:
            return self.op_open()
        handle = self.rng.choice(sorted(self.handles))
        self.both("close #%d" % handle, lambda side: os.close(side.fds.pop(handle)))
        del self.handles[handle]

    def writable_handle(self):
        ids = [h for h, (flags, _) in self.handles.items() if flags & os.O_ACCMODE != os.O_RDONLY]
        return self.rng.choice(sorted(ids)) if ids else None

    def readable_handle(self):
        ids = [h for h, (flags, _) in self.handles.items() if flags & os.O_ACCMODE != os.O_WRONLY]
        return self.rng.choice(sorted(ids)) if ids else None

    def op_write(self):
        handle = self.writable_handle()
        if handle is None:
            return self.op_open()
        flags, rel = self.handles[handle]
        size = self.size()
        data = self.data(size)
        if flags & os.O_APPEND:
            self.both("append #%d %d bytes" % (handle, size),
                      lambda side: os.write(side.fds[handle], data))
        else:
            off = self.offset(self.handle_size(handle))
            self.both("pwrite #%d %d bytes at %d" % (handle, size, off),
                      lambda side: os.pwrite(side.fds[handle], data, off))
        self.times.clear()  # the file may have been renamed since it was opened

    def op_read(self):
        handle = self.readable_handle()
        if handle is None:
            return self.op_open()
        size_now = self.handle_size(handle)
        off = self.rng.randint(0, size_now + 10)
        size = self.rng.choice([1, 100, 4096, 65536, size_now + 10])
        self.both("pread #%d %d at %d (size %d)" % (handle, size, off, size_now),
                  lambda side: (os.fstat(side.fds[handle]).st_size,
                                os.pread(side.fds[handle], size, off)))

    def op_ftruncate(self):
        handle = self.writable_handle()
        if handle is None:
            return self.op_truncate()
        size = self.truncate_size(self.handle_size(handle))
        self.both("ftruncate #%d %d" % (handle, size),
                  lambda side: os.ftruncate(side.fds[handle], size))
        self.times.clear()

    def truncate_size(self, size_now):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.randint(0, size_now)
        if r < 0.5:
            return 0
        return size_now + self.rng.randint(1, 300000)

    def op_truncate(self):
        rel = self.any_file()
        path = self.model.path(rel)
        size = self.truncate_size(path.stat().st_size if path.is_file() else 0)
        self.both("truncate %r %d" % (rel, size), lambda side: os.truncate(side.path(rel), size))
        self.changed(rel)

    def op_create(self):
        rel = self.new_path() if self.rng.random() < 0.7 else self.any_file()
        data = self.data(self.rng.choice([0, 1, 100, 5000, 70000]))

        def create(side):
            with open(side.path(rel), "wb") as f:
                f.write(data)
        self.both("create %r %d bytes" % (rel, len(data)), create)
        self.changed(rel)

    def op_mkdir(self):
        rel = self.new_path() if self.rng.random() < 0.85 else self.any_path()
        self.both("mkdir %r" % rel, lambda side: os.mkdir(side.path(rel)))

    def op_rmdir(self):
        dirs = self.entries()[1][1:]  # never the library's folder itself
        rel = self.any_path() if self.rng.random() < 0.3 or not dirs else self.rng.choice(dirs)
        if self.rng.random() < 0.5:  # an empty one, when there is one
            empty = [d for d in dirs if not os.listdir(self.model.path(d))]
            rel = self.rng.choice(empty) if empty else rel
        self.both("rmdir %r" % rel, lambda side: os.rmdir(side.path(rel)))

    def op_unlink(self):
        rel = self.any_file() if self.rng.random() < 0.9 else self.any_path()
        if self.handles and self.rng.random() < 0.3:  # one that is open, if still there
            _, open_rel = self.handles[self.rng.choice(sorted(self.handles))]
            rel = open_rel if self.model.path(open_rel).exists() else rel
        result = self.both("unlink %r" % rel, lambda side: os.unlink(side.path(rel)))
        if result[0] == "ok":
            self.removed(rel)

    def op_rename(self):
        src = self.any_path()
        r = self.rng.random()
        dst = self.new_path() if r < 0.5 else self.any_path()
        result = self.both("rename %r -> %r" % (src, dst),
                           lambda side: os.rename(side.path(src), side.path(dst)))
        if result[0] == "ok" and src != dst:
            self.moved(src, dst)
            for handle, (flags, rel) in self.handles.items():
                if rel == src or rel.startswith(src + "/"):
                    self.handles[handle] = (flags, dst + rel[len(src):])

    def op_mmap(self):
        rel = self.any_file()
        path = self.model.path(rel)
        if not path.is_file() or path.stat().st_size == 0:
            return self.op_create()
        size_now = path.stat().st_size
        off = self.rng.randint(0, size_now - 1)
        data = self.data(min(self.rng.randint(1, 20000), size_now - off))

        def write_mapped(side):
            fd = os.open(side.path(rel), os.O_RDWR)
            try:
                with mmap.mmap(fd, size_now, mmap.MAP_SHARED) as m:
                    m[off:off + len(data)] = data
                    m.flush()
            finally:
                os.close(fd)
        self.both("mmap-write %r %d bytes at %d" % (rel, len(data), off), write_mapped)
        self.changed(rel)

    def op_chmod(self):
        rel = self.any_file()
        on = self.rng.random() < 0.5
        mode = 0o744 if on else 0o644
        self.both("chmod %r %o" % (rel, mode), lambda side: os.chmod(side.path(rel), mode))

    def op_utime(self):
        rel = self.any_file()
        t = self.rng.randint(1000000000, 1700000000)
        result = self.both("utime %r %d" % (rel, t),
                           lambda side: os.utime(side.path(rel), (t, t)))
        if result[0] == "ok":
            self.times[rel] = t

    def op_read_file(self):
        rel = self.any_file()
        drop = self.rng.random() < 0.5
        if drop and self.model.path(rel).is_file():
            drop_cached_pages(self.mounted.path(rel))
        self.both("read %r%s" % (rel, " (cached pages dropped)" if drop else ""),
                  lambda side: side.path(rel).read_bytes())

    def op_fsync(self):
        handle = self.writable_handle()
        if handle is None:
            return self.op_open()
        self.both("fsync #%d" % handle, lambda side: os.fsync(side.fds[handle]))

    def op_fallocate(self):
        handle = self.writable_handle()
        if handle is None or self.handles[handle][0] & os.O_APPEND:
            return self.op_open()
        off = self.offset(self.handle_size(handle))
        length = self.size()
        self.both("fallocate #%d %d at %d" % (handle, length, off),
                  lambda side: os.posix_fallocate(side.fds[handle], off, length))
        self.times.clear()

    def op_list(self):
        rel = self.any_dir()
        self.both("list %r" % rel, lambda side: sorted(
            (e.name, e.is_dir()) for e in os.scandir(side.path(rel))))

    OPERATIONS = [("write", 18), ("open", 9), ("close", 7), ("read", 8), ("ftruncate", 4),
                  ("truncate", 4), ("create", 8), ("mkdir", 5), ("rmdir", 4), ("unlink", 6),
                  ("rename", 10), ("mmap", 3), ("chmod", 2), ("utime", 2), ("read_file", 5),
                  ("list", 3), ("fsync", 2), ("fallocate", 2)]

    # --- whole-tree checks ---------------------------------------------------------------------

    def compare(self, when, drop_cache=False):
        model = snapshot(self.model.root, self.times)
        mounted = snapshot(self.mounted.root, self.times, drop_cache)
        if model != mounted:
            problems = describe_difference(model, mounted)
            self.fail("%s: the trees differ (%d entries):\n  %s" % (
                when, len(problems), "\n  ".join(problems[:30])))
        self.note("compare %s: %d entries equal" % (when, len(model)))

    def remount(self, when):
        for side in self.sides:
            side.close_all()
        self.handles.clear()
        self.compare("before the remount (%s)" % when)
        problem = self.mount.stop()
        if problem:
            self.fail("unclean unmount: %s\n%s" % (problem, self.mount.log_tail()))
        self.mount.start()
        self.note("remounted")
        self.compare("after the remount (%s)" % when)

    def run(self, n_ops):
        names = [name for name, weight in self.OPERATIONS]
        weights = [weight for name, weight in self.OPERATIONS]
        remounts = random.Random("remounts %s" % self.seed)
        for self.step in range(n_ops):
            getattr(self, "op_" + self.rng.choices(names, weights)[0])()
            if remounts.random() * REMOUNT_EVERY < 1:
                self.remount("step %d" % self.step)
            elif self.step % CHECK_EVERY == CHECK_EVERY - 1:
                drop = self.step % (2 * CHECK_EVERY) == CHECK_EVERY - 1
                self.compare("step %d%s" % (self.step, ", cached pages dropped" if drop else ""),
                             drop)
        self.remount("the end")
        self.log_file.close()


def short(result):
    kind, value = result
    if kind == "err":
        return "error " + value
    if isinstance(value, bytes):
        return "%d bytes (%s)" % (len(value), value[:8].hex())
    if isinstance(value, tuple):
        return "(%s)" % ", ".join(short(("ok", v))[0:80] for v in value)
    return repr(value)[:80]


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory):
    root = tmp_path_factory.mktemp("model-source") / "Demo"
    demo.write_source(LIB, root)
    return root


@pytest.mark.parametrize("seed, options", [
    (1, {}),
    (2, {"no_writeback_cache": True}),
], ids=["writeback", "no_writeback_cache"])
def test_random_operations_match_a_local_tree(seed, options, fresh_small_demo_server, mount_factory,
                                              demo_source, tmp_path):
    import shutil

    seed = int(SEED) if SEED else seed
    server, _ = fresh_small_demo_server
    model_root = tmp_path / "model"
    shutil.copytree(demo_source, model_root)
    mount = mount_factory(server, poll_interval=0, debug=bool(os.environ.get("SEAFS_MODEL_DEBUG")),
                          upload_delay=int(os.environ.get("SEAFS_MODEL_UPLOAD_DELAY") or 1), **options)
    run = Run(seed, mount, model_root, tmp_path / "model-ops.log")
    print("model run: seed %d, %d operations, options %s" % (seed, OPS, options))
    try:
        run.compare("at the start")
        run.run(OPS)
    finally:
        for side in run.sides:
            side.close_all()
    # Everything uploaded: a fresh mount (empty cache, state of its own) shows the model too.
    done = ctl("sync", mount.mountpoint, LIB, "--timeout", "120", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = mount_factory(server, name="fresh", poll_interval=0)
    model = snapshot(model_root, run.times)
    uploaded = snapshot(fresh.path(LIB), run.times)
    problems = describe_difference(model, uploaded)
    assert not problems, "seed %d: the server's tree differs from the model (%d entries):\n  %s" % (
        seed, len(problems), "\n  ".join(problems[:30]))
