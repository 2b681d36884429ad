"""Run each student kernel inside a bubblewrap sandbox.

Why bubblewrap: it needs no daemon and no root (unprivileged user namespaces), starts in
milliseconds, and gives each kernel its own mount, network, PID and IPC namespaces.  An
unprivileged user with a separate environment alone would still see the whole filesystem
(every world-readable file: other submissions, the answer key) and the network.

The kernelspec points at this module as a launcher, which runs outside the sandbox once per
kernel: it works out the two folders the kernel may write to (the folder of its connection
file, and a private copy of the working directory nbgrader chose, mounted in its place), drops
to a fresh unprivileged uid, sets resource limits and execs ``bwrap``.  The copy matters:
nbgrader, as the grader's user, later writes the graded notebook into the real working
directory, so a symlink the kernel planted there would redirect that write anywhere.

Inside, the kernel sees read-only system libraries, the student environment (numpy, sympy,
matplotlib, ipykernel) and the kernel-safe capture modules, nothing else: no course, no
gradebook, no answer key, no other submission, no network.  Kernel messages use ZeroMQ over
Unix sockets (ipc), since the kernel has no network to speak TCP on.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from grader import cgroups

SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/alternatives",
               "/etc/ld.so.cache", "/etc/ssl/certs", "/etc/fonts")
CAPTURE_MOUNT = "/opt/rope-capture"
"""Where the kernel-safe grader package appears inside the sandbox."""
KERNEL_SAFE = ("__init__.py", "capture.py", "payload.py", "probes.py", "rebase.py", "timebox.py")
"""The grader modules a student kernel (or timing box) may import: they decide nothing."""


class SandboxUnavailable(RuntimeError):
    """Sandboxed grading cannot run here; the message says how to fix it."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits."""

    memory_bytes: int = 4 << 30
    """address-space cap (RLIMIT_AS): a memory bomb fails inside its own kernel"""
    processes: int = 256
    """process and thread cap for the kernel's own uid (RLIMIT_NPROC): stops fork bombs"""
    file_bytes: int = 256 << 20
    """largest file the kernel may write (RLIMIT_FSIZE)"""
    tmp_bytes: int = 256 << 20
    """size of the kernel's private /tmp, a tmpfs: its pages are RAM the address-space cap
    does not count"""
    shm_bytes: int = 64 << 20
    """size of the kernel's private /dev/shm (a tmpfs, writable by the kernel): POSIX
    semaphores and shared memory live there, which ``multiprocessing`` needs for its locks"""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the launcher needs, saved as JSON next to the kernelspec."""

    python: str
    """the student environment's python"""
    read_only: tuple[str, ...]
    """folders bound read-only (system, the student environment and its base python)"""
    capture_dir: str
    """folder holding a ``grader`` package of the kernel-safe modules only"""
    mpl_cache: str
    """a prebuilt matplotlib font cache, copied into each kernel's private folder"""
    limits: Limits
    """resource limits"""


def kernel_python(explicit: str | None = None) -> str:
    """The student environment's python: ``explicit``, ``$ROPE_KERNEL_PYTHON`` or the
    project's ``.venv-kernel``."""
    root = Path(__file__).resolve().parent.parent
    candidate = explicit or os.environ.get("ROPE_KERNEL_PYTHON") or str(
        root / ".venv-kernel" / "bin" / "python")
    if not Path(candidate).exists():
        raise SandboxUnavailable(
            f"no student environment at {candidate}: create it with `make kernel-env` (numpy, "
            "sympy, matplotlib, ipykernel), or pass --no-sandbox to grade unsandboxed")
    # absolute, since the kernel starts in another folder; not resolved, since a venv's
    # python is a symlink that finds its packages through its own path
    return os.path.abspath(candidate)


def check_bwrap() -> None:
    """Raise :class:`SandboxUnavailable` unless bubblewrap works here."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed. Install it (Debian/Ubuntu: `sudo apt-get install "
            "bubblewrap`; Fedora: `sudo dnf install bubblewrap`), or pass --no-sandbox to "
            "grade without isolation (not recommended)")
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create namespaces here: {probe.stderr.strip()}. Enable "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or "
            "pass --no-sandbox")


def install(dest: Path, python: str, limits: Limits = Limits()) -> Path:
    """Write the capture package, the config and a ``python3`` kernelspec under ``dest``;
    return the kernels folder to put first in the kernelspec search path."""
    check_bwrap()
    capture = dest / "capture" / "grader"
    capture.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in KERNEL_SAFE:
        shutil.copyfile(here / name, capture / name)
    venv = Path(python).parent.parent
    base = subprocess.run([python, "-c", "import sys; print(sys.base_prefix)"], check=True,
                          capture_output=True, text=True).stdout.strip()
    ro = tuple(dict.fromkeys([*SYSTEM_DIRS, str(venv.resolve()), str(venv), base]))
    mpl = dest / "mplconfig"
    subprocess.run([python, "-c", "import matplotlib.font_manager"], check=True,
                   capture_output=True, env={**os.environ, "MPLCONFIGDIR": str(mpl)})
    config = SandboxConfig(python, ro, str(capture.parent), str(mpl), limits)
    (dest / "sandbox.json").write_text(json.dumps(asdict(config)), encoding="utf-8")
    spec = dest / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "grader.sandbox", str(dest / "sandbox.json"),
                 "{connection_file}"],
        "display_name": "Python 3 (sandboxed)", "language": "python",
        "interrupt_mode": "message",  # a signal to bwrap would not reach the kernel inside
        "metadata": {"debugger": False},
    }), encoding="utf-8")
    return dest / "kernels"


def kernel_command(config: SandboxConfig, connection: str) -> list[str]:
    """The command that starts a student kernel inside the sandbox."""
    return [config.python, "-m", "ipykernel_launcher", "-f", connection,
            "--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]


def bwrap_argv(config: SandboxConfig, workdir: str, runtime: str, command: list[str],
               uid: int | None, scratch: str | None = None) -> list[str]:
    """The bubblewrap command line for one kernel (or timing box) running ``command``.  As
    root, bwrap resolves the bind sources with root's rights (the student environment may
    live under /root) and ``setpriv`` then drops the kernel to ``uid``; otherwise bwrap runs
    unprivileged in a user namespace.  ``scratch`` (a private copy of ``workdir``) is
    mounted at ``workdir``, writable."""
    argv = ["bwrap", "--proc", "/proc", "--dev", "/dev", "--perms", "1777",
            "--size", str(config.limits.tmp_bytes), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(config.limits.shm_bytes), "--tmpfs", "/dev/shm"]
    parents = {str(p) for path in (*config.read_only, runtime, workdir, CAPTURE_MOUNT)
               for p in Path(path).parents if str(p) not in ("/", "/tmp")}
    for parent in sorted(parents, key=len):  # traversable by the kernel's uid (/root is 0700)
        argv += ["--perms", "0755", "--dir", parent]
    for path in config.read_only:
        argv += ["--ro-bind-try", path, path]
    argv += ["--ro-bind", config.capture_dir, CAPTURE_MOUNT,
             "--bind", runtime, runtime, "--bind", scratch or workdir, workdir]
    if uid is None:
        argv += ["--unshare-all"]
    else:  # no user namespace: the kernel's real uid must be the unprivileged one
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try", "--cap-drop", "ALL"]
    argv += ["--die-with-parent", "--new-session", "--chdir", workdir,
             "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin",
             "--setenv", "PYTHONPATH", CAPTURE_MOUNT,
             "--setenv", "MPLCONFIGDIR", os.path.join(runtime, "mpl"),
             "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
             "--setenv", "MKL_NUM_THREADS", "1", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
             "--setenv", "NBGRADER_EXECUTION", "autograde",
             # a parent pid of 1 (never polled): ipykernel prints no console banner
             "--setenv", "JPY_PARENT_PID", "1"]
    if uid is not None:
        argv = [*argv[:1], "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", *argv[1:]]
        argv = [a for a in argv if a not in ("--cap-drop", "ALL")]
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return [*argv, *command]


def _prepare_limits(paths: list[str], limits: Limits) -> int | None:
    """Set resource limits; as root, give the writable folders to a fresh uid and return it."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:
        return None  # unprivileged: the user namespace keeps the kernel away from the rest
    uid = 60000 + os.getpid() % 5000  # one uid per live kernel: the process cap is per uid
    for path in paths:
        for dirpath, _dirs, files in os.walk(path):
            os.chown(dirpath, uid, uid)
            for f in files:
                os.chown(os.path.join(dirpath, f), uid, uid)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return uid


def _load(config_path: str) -> SandboxConfig:
    data = json.loads(Path(config_path).read_text(encoding="utf-8"))
    return SandboxConfig(data["python"], tuple(data["read_only"]), data["capture_dir"],
                         data["mpl_cache"], Limits(**data["limits"]))


def _confine_and_exec(config: SandboxConfig, workdir: str, runtime: str, command: list[str],
                      scratch: str) -> None:
    uid = _prepare_limits([runtime], config.limits)
    # the sandbox's processes together: memory (its /tmp and /dev/shm are RAM too) and
    # process count
    cgroups.confine(config.limits.memory_bytes + config.limits.tmp_bytes
                    + config.limits.shm_bytes,
                    config.limits.processes)
    os.execvp("bwrap", bwrap_argv(config, workdir, runtime, command, uid, scratch))


def main(argv: list[str] | None = None) -> None:
    """Kernel launcher: ``python -m grader.sandbox CONFIG.json CONNECTION_FILE``; timing box
    launcher (:mod:`grader.timebox`): ``python -m grader.sandbox --timebox CONFIG.json DIR``
    with ``DIR`` an empty private folder."""
    args = argv or sys.argv[1:]
    if args[0] == "--timebox":
        config, runtime = _load(args[1]), os.path.abspath(args[2])
        scratch = os.path.join(runtime, "cwd")
        os.makedirs(scratch, exist_ok=True)
        _confine_and_exec(config, scratch, runtime, [config.python, "-m", "grader.timebox"],
                          scratch)
        return
    config, connection = _load(args[0]), os.path.abspath(args[1])
    runtime = os.path.dirname(connection)
    workdir = os.getcwd()
    if runtime in ("/tmp", "/", os.path.expanduser("~")):
        sys.exit(f"refusing to expose {runtime} to a student kernel: set a private "
                 "KernelManager.connection_file")
    shutil.copytree(config.mpl_cache, os.path.join(runtime, "mpl"), dirs_exist_ok=True)
    scratch = os.path.join(runtime, "cwd")  # the kernel's writes never reach the real workdir
    shutil.copytree(workdir, scratch, symlinks=True, dirs_exist_ok=True)
    _confine_and_exec(config, workdir, runtime, kernel_command(config, connection), scratch)


if __name__ == "__main__":
    main()
