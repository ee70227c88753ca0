"""A tiny lab of the grader's own tests ("fakelab"), so the whole grading pipeline runs end to end
without lab02: two steps whose conditions read the local cloud (an S3 bucket and an object,
served by moto inside the local cloud), an English and a Korean solution notebook in nbgrader's
format, and the bad submissions derived from them.

`grader --checks tests/grader/fakelab.py` loads this file: it defines `LAB`.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.checks.core import CheckContext, Lab, Result, Step, condition

LAB_ID = "fakelab"
BUCKET = "grader-fake-bucket"
HIDDEN_MARKER = "FAKELAB_HIDDEN_SECRET_42"  # appears only inside hidden tests


def _s3(ctx: CheckContext):
    return ctx.client("s3")


def _bucket_names(ctx: CheckContext) -> list[str]:
    return ctx.cached("buckets", lambda: [b["Name"] for b in _s3(ctx).list_buckets().get("Buckets", [])])


@condition(points=1)
def bucket_exists(ctx: CheckContext) -> list[Result]:
    ok = BUCKET in _bucket_names(ctx)
    return [Result("bucket.exists", ok, "fakelab.bucket.exists.ok" if ok else "fakelab.bucket.exists.missing",
                   params={"name": BUCKET})]


@condition(points=1)
def bucket_tagged(ctx: CheckContext) -> list[Result]:
    ok = False
    if BUCKET in _bucket_names(ctx):
        try:
            tags = _s3(ctx).get_bucket_tagging(Bucket=BUCKET)["TagSet"]
            ok = {"Key": "course", "Value": "containers"} in tags
        except Exception:  # NoSuchTagSet
            ok = False
    return [Result("bucket.tagged", ok, "fakelab.bucket.tagged.ok" if ok else "fakelab.bucket.tagged.missing")]


@condition(points=2)
def object_hello(ctx: CheckContext) -> list[Result]:
    ok = False
    if BUCKET in _bucket_names(ctx):
        try:
            ok = _s3(ctx).get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read() == b"hello"
        except Exception:  # NoSuchKey
            ok = False
    return [Result("object.hello", ok, "fakelab.object.ok" if ok else "fakelab.object.missing", points=2)]


LAB = Lab(id=LAB_ID, steps=[
    Step("bucket", "fakelab.step.bucket", [bucket_exists], hidden=[bucket_tagged]),
    Step("object", "fakelab.step.object", [object_hello]),
])


# -- notebooks -----------------------------------------------------------------------------------

def _nbgrader(cell, grade_id: str, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


TEXT = {
    "en": {
        "intro": "# Fake lab\nCreate a bucket, tag it, put an object.",
        "bucket": "## Step 1 · the bucket",
        "object": "## Step 2 · the object",
        "comment_setup": "# Start the local cloud",
        "comment_check": "# Check the step",
    },
    "ko": {
        "intro": "# 가짜 실습\n버킷을 만들고 태그를 달고 객체를 넣으세요.",
        "bucket": "## 1단계 · 버킷",
        "object": "## 2단계 · 객체",
        "comment_setup": "# 로컬 클라우드 시작",
        "comment_check": "# 단계 확인",
    },
}

BUCKET_SOLUTION = (
    "### BEGIN SOLUTION\n"
    f"s3.create_bucket(Bucket={BUCKET!r}, CreateBucketConfiguration={{'LocationConstraint': 'ap-northeast-2'}})\n"
    f"s3.put_bucket_tagging(Bucket={BUCKET!r}, Tagging={{'TagSet': [{{'Key': 'course', 'Value': 'containers'}}]}})\n"
    "### END SOLUTION"
)
OBJECT_SOLUTION = (
    "### BEGIN SOLUTION\n"
    f"s3.put_object(Bucket={BUCKET!r}, Key='hello.txt', Body=b'hello')\n"
    "### END SOLUTION"
)


def solution_notebook(lang: str = "en") -> nbformat.NotebookNode:
    t = TEXT[lang]
    cells = [
        _nbgrader(new_markdown_cell(t["intro"]), "intro", locked=True),
        new_code_cell(f"{t['comment_setup']}\nimport boto3, labkit\nlabkit.start()\ns3 = boto3.client('s3')"),
        new_markdown_cell(t["bucket"]),
        _nbgrader(new_code_cell(BUCKET_SOLUTION), "bucket-answer", solution=True),
        _nbgrader(new_code_cell(
            f"{t['comment_check']}\nassert {BUCKET!r} in [b['Name'] for b in s3.list_buckets()['Buckets']]\n"
            "### BEGIN HIDDEN TESTS\n"
            f"assert {{'Key': 'course', 'Value': 'containers'}} in s3.get_bucket_tagging(Bucket={BUCKET!r})['TagSet'], "
            f"{HIDDEN_MARKER!r}\n"
            "### END HIDDEN TESTS"), "bucket", grade=True, locked=True, points=2),
        new_markdown_cell(t["object"]),
        _nbgrader(new_code_cell(OBJECT_SOLUTION), "object-answer", solution=True),
        _nbgrader(new_code_cell(
            f"{t['comment_check']}\nassert s3.get_object(Bucket={BUCKET!r}, Key='hello.txt')['Body'].read() == b'hello'\n"
            "### BEGIN HIDDEN TESTS\n"
            f"assert s3.head_object(Bucket={BUCKET!r}, Key='hello.txt')['ContentLength'] == 5, {HIDDEN_MARKER!r}\n"
            "### END HIDDEN TESTS"), "object", grade=True, locked=True, points=2),
    ]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "labkit": {"lang": lang, "lab": LAB_ID, "source": "tests/grader/fakelab.py"},
    })
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def write_solutions(root: Path) -> Path:
    """solutions/{en,ko}/fakelab.ipynb under `root`; returns the solutions directory."""
    for lang in ("en", "ko"):
        path = root / lang / f"{LAB_ID}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(solution_notebook(lang), str(path))
    return root


# -- submissions derived from a student version ---------------------------------------------------

def _find(nb, grade_id):
    for i, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def _answer(nb, grade_id, source):
    nb = copy.deepcopy(nb)
    nb["cells"][_find(nb, grade_id)]["source"] = source
    return nb


def _strip(solution: str) -> str:
    return "\n".join(line for line in solution.splitlines() if "SOLUTION" not in line)


def answered(student_version: dict) -> dict:
    return _answer(_answer(student_version, "bucket-answer", _strip(BUCKET_SOLUTION)), "object-answer",
                   _strip(OBJECT_SOLUTION))


def _code(cell_id: str, text: str) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "outputs": [], "execution_count": None, "source": text}


def submissions(student_version: dict, student_version_ko: dict | None = None) -> dict[str, dict | bytes]:
    """case -> notebook JSON (dict) or raw bytes, built from the student versions."""
    good = answered(student_version)
    cases: dict[str, dict | bytes] = {"good": good, "untouched": student_version}
    cases["partial"] = _answer(student_version, "bucket-answer", _strip(BUCKET_SOLUTION))
    loop = copy.deepcopy(good)
    loop["cells"].insert(2, {"cell_type": "code", "id": "loop", "metadata": {}, "outputs": [],
                             "execution_count": None, "source": "while True:\n    pass"})
    cases["infinite_loop"] = loop
    kill = copy.deepcopy(good)
    kill["cells"].insert(4, {"cell_type": "code", "id": "kill", "metadata": {}, "outputs": [],
                             "execution_count": None, "source": "import os\nos.kill(os.getpid(), 9)"})
    cases["kills_kernel"] = kill
    edited = copy.deepcopy(good)
    edited["cells"][_find(edited, "bucket")]["source"] = "assert True  # I made the test pass"
    cases["edited_test_cell"] = edited
    deleted = copy.deepcopy(good)
    del deleted["cells"][_find(deleted, "object")]
    cases["deleted_test_cell"] = deleted
    cases["malformed_json"] = json.dumps(good)[:-40].encode()
    huge = copy.deepcopy(good)
    huge["cells"].insert(2, {"cell_type": "code", "id": "huge", "metadata": {}, "outputs": [],
                             "execution_count": None, "source": "print('x' * 50_000_000)"})
    cases["huge_output"] = huge
    tamper = copy.deepcopy(student_version)
    tamper["cells"].insert(2, {"cell_type": "code", "id": "tamper", "metadata": {}, "outputs": [],
                               "execution_count": None, "source": TAMPER})
    cases["tamper"] = tamper
    if student_version_ko is not None:
        cases["good_ko"] = answered(student_version_ko)
    return cases


def extra_submissions(student_version: dict) -> dict[str, dict]:
    """Cases beyond the samples: what the kernel's environment holds, a notebook quoting the hidden
    tests in its own output, a notebook killing the grading process itself."""
    good = answered(student_version)
    probe = copy.deepcopy(good)
    probe["cells"].append(_code("probe", "import os, json\nprint('ENV=' + json.dumps({k: v for k, v in os.environ.items() "
                                         "if k.startswith(('LABKIT', 'AWS_'))}))\n"
                                         "record = os.path.join(os.environ['LABKIT_HOME'], 'cloud.json')\n"
                                         "print('RECORD=' + (open(record).read() if os.path.exists(record) else 'absent'))\n"
                                         "print('PROCS=' + json.dumps([open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ') for p in os.listdir('/proc') if p.isdigit()]))"))
    leaky = copy.deepcopy(good)
    leaky["cells"].append(_code("leak1", "print(In)"))
    leaky["cells"].append(_code("leak2", "print(open('fakelab.ipynb').read())"))
    leaky["cells"].append(_code("leak3", "raise ValueError(In[-4])"))
    killer = copy.deepcopy(good)
    killer["cells"].insert(2, _code("killer", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    cloud_killer = copy.deepcopy(good)
    cloud_killer["cells"].append(_code("kill_cloud", "import os, json, urllib.request\n"
                                       "health = json.load(urllib.request.urlopen(os.environ['AWS_ENDPOINT_URL'] + '/_labkit/health'))\n"
                                       "os.kill(health['pid'], 9)"))
    daemon = copy.deepcopy(good)
    daemon["cells"].append(_code("daemon", "import subprocess\n"
                                 f"subprocess.Popen(['sleep', '{DAEMON_SECONDS}'], start_new_session=True)"))
    return {"env_probe": probe, "leaky": leaky, "kills_worker": killer, "kills_cloud": cloud_killer, "daemon": daemon}


DAEMON_SECONDS = 4242  # `sleep 4242`: easy to look for among processes


TAMPER = """\
# Fake every check: make boto3 answer whatever the tests ask, do no real work.
import boto3, botocore.client, labkit.checks.core as core
class Fake:
    def __getattr__(self, name):
        return lambda *a, **k: {'Buckets': [{'Name': 'grader-fake-bucket'}],
                                'TagSet': [{'Key': 'course', 'Value': 'containers'}],
                                'Body': type('B', (), {'read': lambda self: b'hello'})(), 'ContentLength': 5}
boto3.client = lambda *a, **k: Fake()
s3 = Fake()
core.Step.run = lambda self, ctx, include_hidden=False: []
core.Result.passed = True
"""
