"""The lab's real commands through the fast path print the same bytes and exit with the same code
as without it (LABKIT_FASTCLI=0 runs the real commands), and did go through a zygote."""
from __future__ import annotations

from tests.fastcli.conftest import REGISTRY


def same(runner, line, env=None, served=None, **kw):
    before = runner.count("served")
    fast, real = runner.both(line, env, **kw)
    assert (fast.returncode, fast.stdout, fast.stderr) == (real.returncode, real.stdout, real.stderr), line
    if served is not None:
        assert runner.count("served") - before == served, f"{line}: not served by the zygote"
    return fast


def test_version(runner):
    out = same(runner, "aws --version", served=1)
    assert out.returncode == 0 and out.stdout.startswith(b"aws-cli/")


def test_missing_repository_is_awscli_error(runner):
    out = same(runner, "aws ecr describe-repositories --repository-names missing", served=1)
    assert out.returncode == 255
    assert b"RepositoryNotFoundException" in out.stderr and out.stdout == b""


def test_usage_error(runner):
    out = same(runner, "aws ecr describe-repositories --no-such-flag", served=1)
    assert out.returncode != 0 and b"usage:" in out.stderr


def test_create_then_read_back(runner):
    created = runner.run("aws ecr create-repository --repository-name fast-one --image-scanning-configuration "
                         "scanOnPush=true")
    assert created.returncode == 0, created.stderr
    out = same(runner, "aws ecr describe-repositories --repository-names fast-one", served=1)
    assert b'"scanOnPush": true' in out.stdout
    same(runner, 'aws ecr describe-repositories --query "repositories[].repositoryName" --output text', served=1)


def test_output_format_from_the_environment_of_each_command(runner):
    """A variable the student changes after the zygote started (`%env AWS_DEFAULT_OUTPUT=table`)
    is honoured: the child applies the environment it was sent before botocore reads it."""
    runner.run("aws ecr create-repository --repository-name fmt")
    out = same(runner, "aws ecr describe-repositories", env={"AWS_DEFAULT_OUTPUT": "table"}, served=1)
    assert b"DescribeRepositories" in out.stdout  # a table, not JSON
    out = same(runner, "aws ecr describe-repositories --region us-east-1", served=1)
    assert b"fmt" not in out.stdout  # another region of the local cloud: empty


def test_login_through_a_pipe(runner):
    line = (f"aws ecr get-login-password --region ap-northeast-2 | "
            f"labkit docker login --username AWS --password-stdin {REGISTRY}")
    out = same(runner, line, served=2)
    assert b"Login Succeeded" in out.stdout


def test_wrong_password_on_stdin(runner):
    out = same(runner, f"echo not-a-token | labkit docker login --username AWS --password-stdin {REGISTRY}",
               served=1)
    assert out.returncode != 0 and out.stderr


def test_stdin_from_a_file(runner, tmp_path):
    (tmp_path / "password").write_text("nope\n")
    same(runner, f"labkit docker login -u AWS --password-stdin {REGISTRY} < {tmp_path / 'password'}", served=1)


def test_docker_commands(runner, tmp_path):
    app = tmp_path / "work" / "app"
    app.mkdir()
    (app / "Dockerfile").write_text('FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n')
    (app / "app.py").write_text("print('hi')\n")
    built = runner.run("cd app && labkit docker build -t my-app .")
    assert built.returncode == 0, built.stderr
    same(runner, "labkit docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'", served=1)  # no "N seconds ago"
    same(runner, "labkit docker images -q | head -1", served=1)
    same(runner, "labkit docker inspect my-app", served=1)
    same(runner, "labkit docker tag missing:latest other:1", served=1)  # an error: docker's message and code
    same(runner, "labkit docker", served=1)
    same(runner, "labkit docker no-such-command", served=1)


def test_not_served_but_the_same(runner):
    """What the zygote declines still behaves as the real command (the shim execs it)."""
    before = runner.count("declined")
    same(runner, "labkit status")  # not a docker command
    same(runner, "aws --version", env={"PYTHONWARNINGS": "error"})  # a start-up variable changed
    same(runner, f"labkit docker login -u AWS -p wrong {REGISTRY} < /dev/null")  # might prompt on /dev/tty
    assert runner.count("declined") - before == 3
