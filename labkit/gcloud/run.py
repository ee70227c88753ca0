"""`gcloud run deploy`, `run services describe|list|delete|update-traffic|add-iam-policy-binding|
get-iam-policy`, `run revisions list|describe`, over labkit.gcp.run_client() / revisions_client()
(Cloud Run v2 over gRPC). gcloud's own steps are kept where they show: traffic is merged on the
client into a full list (traffic.py), every deploy makes a new revision (gcloud sends a nonce
annotation), --tag / --revision-suffix name the revision on the client, --allow-unauthenticated
is an IAM binding set after the service. Output is gcloud's non-interactive one (a notebook's
`!` is not a terminal): the progress lines and messages on stderr, results on stdout."""
from __future__ import annotations

import argparse
import random
import string
import sys
import uuid

from labkit.gcloud import cli, config, lazy, run_shape, traffic
from labkit.gcloud.errors import GcloudError

lazy.install()

INVOKER = "roles/run.invoker"
NONCE = "client.knative.dev/nonce"
SERVICE_LIST_FORMAT = ("table(ready_symbol:label='', metadata.name:label=SERVICE, region:label=REGION, "
                       "url:label=URL, last_modifier:label='LAST DEPLOYED BY', "
                       "last_transition_time:label='LAST DEPLOYED AT')")
REVISION_LIST_FORMAT = ("table(ready_symbol:label='', metadata.name:label=REVISION, active_text:label=ACTIVE, "
                        "service_name:label=SERVICE, deployed:label=DEPLOYED, author:label='DEPLOYED BY')")


# -- shared ---------------------------------------------------------------------------------

def _region(args) -> str:
    region = getattr(args, "region", None) or config.get("run/region")
    if not region:
        raise GcloudError("You must specify a region. Either use the `--region` flag or set the run/region property.")
    return region


def _platform(args) -> None:
    platform = getattr(args, "platform", None) or config.get("run/platform") or "managed"
    if platform != "managed":
        from labkit.messages import text

        raise GcloudError(text("gcloud.platform", platform=platform), hint=("gcloud.hint.platform", {}))


def _parser(command: str, description: str, service: bool = True) -> cli.Parser:
    p = cli.parser(f"run {command}", description)
    if service:
        p.add_argument("service", nargs="?", metavar="SERVICE")
    p.add_argument("--region", help="Region in which the resource can be found (e.g. asia-northeast3).")
    p.add_argument("--platform", help="managed (the only one the local cloud emulates).")
    p.add_argument("--async", dest="async_", action="store_true", help="Return immediately.")
    return p


def _need_service(args) -> str:
    if not args.service:
        raise GcloudError("argument SERVICE: Must be specified.", exit_code=2)
    return args.service


def _clients():
    cli.require_cloud()
    from labkit import gcp

    return gcp.run_client()


def _service_name(project: str, region: str, name: str) -> str:
    return f"projects/{project}/locations/{region}/services/{name}"


def _get(client, name: str):
    from google.api_core import exceptions

    try:
        return client.get_service(name=name)
    except exceptions.NotFound:
        return None


def _url(service) -> str:
    return service.urls[0] if service.urls else service.uri


def _stage(title: str):
    """gcloud's non-interactive progress line: `Creating Revision...` then dots, then done/failed."""
    sys.stderr.write(title)
    sys.stderr.flush()


def _stage_end(ok: bool = True) -> None:
    sys.stderr.write(".done\n" if ok else ".failed\n")
    sys.stderr.flush()


def _env_pairs(text: str, flag: str) -> dict[str, str]:
    """KEY=VALUE,KEY2=VALUE2 (or gcloud's ^DELIM^ form: ^:^A=1,2:B=3)."""
    delimiter = ","
    if text.startswith("^") and text.find("^", 1) > 0:
        end = text.index("^", 1)
        delimiter, text = text[1:end], text[end + 1:]
    result = {}
    for item in filter(None, text.split(delimiter)):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise GcloudError(f"argument {flag}: Bad syntax for dict arg: [{item}]. Please see `gcloud topic "
                              f"flags-file` or `gcloud topic escaping` for information on providing list or "
                              f"dictionary flag values with special characters.", exit_code=2)
        result[key] = value
    return result


def _latest_percent(service) -> int:
    latest = service.latest_ready_revision.rsplit("/", 1)[-1]
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    return sum(t.percent for t in service.traffic_statuses if t.type_ == kind or t.revision == latest)


def _latest_url(service) -> str:
    latest = service.latest_ready_revision.rsplit("/", 1)[-1]
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    return next((t.uri for t in service.traffic_statuses if (t.type_ == kind or t.revision == latest) and t.uri), "")


def _operation_error(exc) -> GcloudError:
    """A failed deploy as gcloud words it: the condition's message alone."""
    message = getattr(exc, "message", None) or str(exc)
    return GcloudError(message)


# -- deploy ---------------------------------------------------------------------------------

def deploy(argv: list[str]) -> int:
    p = _parser("deploy", "Create or update a Cloud Run service.")
    p.add_argument("--image", help="Name of the container image to deploy (an Artifact Registry image).")
    p.add_argument("--source", help="The location of the source to build (a folder with a Dockerfile).")
    p.add_argument("--port", type=int, help="Container port to receive requests at (default 8080).")
    p.add_argument("--set-env-vars", help="List of key-value pairs to set as environment variables.")
    p.add_argument("--update-env-vars", help="List of key-value pairs to set as environment variables.")
    p.add_argument("--remove-env-vars", help="List of environment variables to be removed.")
    p.add_argument("--clear-env-vars", action="store_true", help="Remove all environment variables.")
    p.add_argument("--allow-unauthenticated", action=argparse.BooleanOptionalAction, default=None,
                   help="Whether to enable allowing unauthenticated access to the service.")
    p.add_argument("--no-traffic", action="store_true", help="The new revision receives no traffic.")
    p.add_argument("--tag", help="Traffic tag to assign to the newly created revision.")
    p.add_argument("--revision-suffix", help="Suffix of the new revision's name (SERVICE-SUFFIX).")
    p.add_argument("--memory", help="Memory limit, e.g. 512Mi.")
    p.add_argument("--cpu", help="CPU limit, e.g. 1.")
    p.add_argument("--concurrency", help="Maximum number of concurrent requests per instance.")
    p.add_argument("--timeout", help="Request timeout, e.g. 300 or 5m.")
    p.add_argument("--min-instances", type=int)
    p.add_argument("--max-instances", type=int)
    p.add_argument("--command", help="Entrypoint for the container image.")
    p.add_argument("--args", help="Comma-separated arguments passed to the command.")
    p.add_argument("--labels", help="List of label KEY=VALUE pairs.")
    p.add_argument("--service-account")
    p.add_argument("--ingress", choices=("all", "internal", "internal-and-cloud-load-balancing"))
    p.add_argument("--description")
    for ignored in ("--execution-environment", "--cpu-boost", "--no-cpu-boost", "--session-affinity"):
        p.add_argument(ignored, nargs="?", const=True, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    name = _need_service(args)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    if not args.image and not args.source:
        raise GcloudError("Missing required argument [--image]: Requires a container image to deploy (e.g. "
                          "`gcr.io/cloudrun/hello:latest`) if no build source is provided.")
    client = _clients()
    from google.cloud import run_v2

    full_name = _service_name(project, region, name)
    existing = _get(client, full_name)
    if args.no_traffic and existing is None:
        raise GcloudError("--no-traffic not supported when creating a new service.")
    image = args.image
    repo_to_create = None
    if args.source:
        from labkit.gcloud import source

        source.check(args.source)
        image, repo_to_create = source.plan(project, region, name)
    service = run_v2.Service(existing) if existing is not None else run_v2.Service()
    template = service.template
    if not template.containers:
        template.containers.append(run_v2.Container())
    container = template.containers[0]
    _apply_container_flags(container, args, None if args.source else image)
    _apply_template_flags(template, args)
    if args.labels:
        service.labels.update(_env_pairs(args.labels, "--labels"))
    if args.description is not None:
        service.description = args.description
    if args.ingress:
        service.ingress = {"all": run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL,
                           "internal": run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_ONLY,
                           "internal-and-cloud-load-balancing":
                               run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER}[args.ingress]
    generation = existing.generation if existing is not None else 0
    if args.revision_suffix:
        template.revision = f"{name}-{args.revision_suffix}"
    elif args.tag:  # gcloud names the revision itself so the tag can point at it
        template.revision = f"{name}-{generation + 1:05d}-{_three_letters()}"
    else:
        template.revision = ""
    template.annotations[NONCE] = uuid.uuid4().hex[:10]  # gcloud: every deploy is a new revision
    targets = traffic.from_v2(service.traffic)
    if args.no_traffic:
        targets = traffic.zero_latest(targets, existing.latest_ready_revision.rsplit("/", 1)[-1])
    if args.tag:
        targets = traffic.update_tags(targets, {args.tag: template.revision})
    if args.no_traffic or args.tag:
        del service.traffic[:]
        service.traffic.extend(traffic.to_v2(targets))
    has_latest = existing is None or any(t.key == traffic.LATEST and t.percent for t in targets)

    if args.source:
        print(f"Building using Dockerfile and deploying container to Cloud Run service [{name}] in project "
              f"[{project}] region [{region}]", file=sys.stderr)
    else:
        print(f"Deploying container to Cloud Run service [{name}] in project [{project}] region [{region}]",
              file=sys.stderr)
    header = ("Building and deploying" if args.source else "Deploying") + (" new service" if existing is None else "")
    print(header + "...", file=sys.stderr)
    if args.source:
        from labkit.gcloud import source

        container.image = source.build_and_push(args.source, image, repo_to_create, project, region)
    _stage("Creating Revision...")
    try:
        if existing is None:
            operation = client.create_service(parent=f"projects/{project}/locations/{region}", service_id=name,
                                              service=service)
        else:
            operation = client.update_service(service=service)
    except Exception:
        _stage_end(False)
        print("Deployment failed", file=sys.stderr)
        raise
    if args.allow_unauthenticated is not None:
        _set_public(client, full_name, args.allow_unauthenticated)
    if args.async_:
        _stage_end()
        print(f"Service [{name}] is deploying asynchronously.", file=sys.stderr)
        return 0
    try:
        deployed = cli.wait(operation, 300)
    except Exception as exc:
        _stage_end(False)
        print("Deployment failed", file=sys.stderr)
        if type(exc).__module__.startswith("google.api_core"):
            raise _operation_error(exc) from None
        raise
    _stage_end()
    if has_latest:
        _stage("Routing traffic...")
        _stage_end()
    if args.allow_unauthenticated is not None:
        _stage("Setting IAM Policy...")
        _stage_end()
    print("Done.", file=sys.stderr)
    print(_success_message(deployed, args.no_traffic), file=sys.stderr)
    return 0


def _three_letters() -> str:
    return "".join(random.choice(string.ascii_lowercase) for _ in range(3))


def _apply_container_flags(container, args, image: str | None) -> None:
    from google.cloud import run_v2

    if image:
        container.image = image
    if args.port:
        del container.ports[:]
        container.ports.append(run_v2.ContainerPort(name="http1", container_port=args.port))
    env = {e.name: e.value for e in container.env}
    if args.clear_env_vars:
        env = {}
    if args.set_env_vars is not None:
        env = _env_pairs(args.set_env_vars, "--set-env-vars")
    if args.remove_env_vars:
        for key in args.remove_env_vars.split(","):
            env.pop(key, None)
    if args.update_env_vars:
        env.update(_env_pairs(args.update_env_vars, "--update-env-vars"))
    del container.env[:]
    container.env.extend(run_v2.EnvVar(name=k, value=v) for k, v in env.items())
    if args.memory:
        container.resources.limits["memory"] = args.memory
    if args.cpu:
        container.resources.limits["cpu"] = args.cpu
    if args.command is not None:
        del container.command[:]
        container.command.extend(filter(None, args.command.split(",")))
    if args.args is not None:
        del container.args[:]
        container.args.extend(filter(None, args.args.split(",")))


def _apply_template_flags(template, args) -> None:
    from google.protobuf import duration_pb2

    if args.concurrency:
        template.max_instance_request_concurrency = 80 if args.concurrency == "default" else int(args.concurrency)
    if args.timeout:
        text = args.timeout
        seconds = int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]] if text[-1] in "smh" else int(text)
        template.timeout = duration_pb2.Duration(seconds=seconds)
    if args.min_instances is not None:
        template.scaling.min_instance_count = args.min_instances
    if args.max_instances is not None:
        template.scaling.max_instance_count = args.max_instances
    if args.service_account:
        template.service_account = args.service_account


def _success_message(service, no_traffic: bool) -> str:
    name = service.name.rsplit("/", 1)[-1]
    percent = 0 if no_traffic else _latest_percent(service)
    revision = (service.latest_created_revision if no_traffic else service.latest_ready_revision).rsplit("/", 1)[-1]
    message = (f"Service [{name}] revision [{revision}] has been deployed and is serving {percent} "
               f"percent of traffic.")
    if percent:
        message += f"\nService URL: {_url(service)}"
    latest_url = _latest_url(service) if not no_traffic else _tag_url_of(service, revision)
    if latest_url:
        message += f"\nThe revision can be reached directly at {latest_url}"
    return message


def _tag_url_of(service, revision: str) -> str:
    return next((t.uri for t in service.traffic_statuses if t.revision == revision and t.uri), "")


def _set_public(client, full_name: str, public: bool) -> None:
    from google.iam.v1 import policy_pb2

    policy = client.get_iam_policy(request={"resource": full_name})
    binding = next((b for b in policy.bindings if b.role == INVOKER), None)
    if public:
        if binding is None:
            binding = policy.bindings.add(role=INVOKER)
        if "allUsers" not in binding.members:
            binding.members.append("allUsers")
    elif binding is not None and "allUsers" in binding.members:
        binding.members.remove("allUsers")
        if not binding.members:
            policy.bindings.remove(binding)
    else:
        return
    client.set_iam_policy(request={"resource": full_name, "policy": policy_pb2.Policy(
        bindings=policy.bindings, etag=policy.etag)})


# -- services -------------------------------------------------------------------------------

def _shaped(service) -> dict:
    shaped = run_shape.service(service)
    shaped.update(ready_symbol=run_shape.ready_symbol(shaped), region=shaped["metadata"]["labels"][
        "cloud.googleapis.com/location"], url=_url(service), last_modifier=service.last_modifier,
        last_transition_time=next((c.get("lastTransitionTime") for c in shaped["status"]["conditions"]
                                   if c["type"] == "Ready"), ""))
    return shaped


def _visible(shaped: dict) -> dict:
    """The resource gcloud's json/yaml print: the v1 fields only, not the table's helpers."""
    return {k: shaped[k] for k in ("apiVersion", "kind", "metadata", "spec", "status") if k in shaped}


def describe(argv: list[str]) -> int:
    from labkit.gcloud import formats

    args = _parser("services describe", "Obtain details about a given service.").parse_args(argv)
    name = _need_service(args)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    service = _get(_clients(), _service_name(project, region, name))
    if service is None:
        raise GcloudError(f"Cannot find service [{name}]")
    shaped = _shaped(service)
    if args.format:
        kind = formats.parse(args.format, "yaml")[0]
        sys.stdout.write(formats.render(_visible(shaped) if kind in ("json", "yaml") else shaped, args.format,
                                        "yaml", single=True))
    else:
        sys.stdout.write(_service_printer(service, shaped))
    return 0


def _traffic_lines(service) -> list[str]:
    """gcloud's traffic section: `  90% my-service-00001-abc` (LATEST shows the revision it is)."""
    latest = service.latest_ready_revision.rsplit("/", 1)[-1]
    pairs: dict[str, dict] = {}
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    for t in service.traffic_statuses:
        key = "LATEST" if t.type_ == kind else t.revision
        pair = pairs.setdefault(key, {"percent": 0, "tags": []})
        pair["percent"] += t.percent
        if t.tag:
            pair["tags"].append((t.tag, t.uri))
    lines = []
    for key, pair in pairs.items():
        shown = f"LATEST (currently {latest})" if key == "LATEST" else key
        lines.append(f"  {pair['percent']}% {shown}")
        lines += [f"        {tag}: {uri}" for tag, uri in pair["tags"]]
    return lines


def _service_printer(service, shaped: dict) -> str:
    """A short form of gcloud's service printer (the default of `services describe`)."""
    container = shaped["spec"]["template"]["spec"]["containers"][0]
    template = shaped["spec"]["template"]["spec"]
    lines = [f"{shaped['ready_symbol']} Service {shaped['metadata']['name']} in region {shaped['region']}", "",
             f"URL:     {_url(service)}", f"Ingress: {shaped['metadata']['annotations']['run.googleapis.com/ingress']}",
             "Traffic:", *_traffic_lines(service), "",
             f"Last updated on {shaped['last_transition_time']} by {service.last_modifier}:",
             f"  Revision {shaped['status']['latestCreatedRevisionName']}",
             f"  Container {container.get('name', 'None')}",
             f"    Image:           {container['image']}",
             f"    Port:            {container.get('ports', [{}])[0].get('containerPort', 8080)}",
             f"    Memory:          {container.get('resources', {}).get('limits', {}).get('memory', '')}",
             f"    CPU:             {container.get('resources', {}).get('limits', {}).get('cpu', '')}"]
    for env in container.get("env", []):
        lines.append(f"    Env vars:\n      {env['name']}  {env['value']}" if env is container["env"][0]
                     else f"      {env['name']}  {env['value']}")
    lines += [f"  Service account:   {template.get('serviceAccountName', '')}",
              f"  Concurrency:       {template['containerConcurrency']}",
              f"  Max instances:     {service.template.scaling.max_instance_count}",
              f"  Timeout:           {template.get('timeoutSeconds', 300)}s"]
    return "\n".join(lines) + "\n"


def list_(argv: list[str]) -> int:
    from labkit.gcloud import formats

    args = _parser("services list", "List available services.", service=False).parse_args(argv)
    _platform(args)
    project = config.project(args.project)
    region = args.region or config.get("run/region") or "-"
    client = _clients()
    rows = [_shaped(s) for s in client.list_services(parent=f"projects/{project}/locations/{region}")]
    kind = formats.parse(args.format, SERVICE_LIST_FORMAT)[0]
    sys.stdout.write(formats.render([_visible(r) for r in rows] if kind in ("json", "yaml") else rows, args.format,
                                    SERVICE_LIST_FORMAT))
    if not rows:
        print("Listed 0 items.", file=sys.stderr)
    return 0


def delete(argv: list[str]) -> int:
    args = _parser("services delete", "Delete a service.").parse_args(argv)
    name = _need_service(args)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    client = _clients()
    full_name = _service_name(project, region, name)
    if _get(client, full_name) is None:
        raise GcloudError(f"Service [{name}] could not be found.")
    if not args.quiet:  # never a terminal here: gcloud takes the prompt's default (continue)
        print(f"Service [{name}] will be deleted.\n\nDo you want to continue (Y/n)?  ", file=sys.stderr)
    operation = client.delete_service(name=full_name)
    if args.async_:
        print(f"Service [{name}] is being deleted.", file=sys.stderr)
        return 0
    cli.wait(operation, 120)
    print(f"Deleted service [{name}].", file=sys.stderr)
    return 0


def update_traffic(argv: list[str]) -> int:
    p = _parser("services update-traffic", "Adjust the traffic assignments for a Cloud Run service.")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--to-revisions", help="REVISION=PERCENT,... (LATEST for the latest ready revision).")
    group.add_argument("--to-tags", help="TAG=PERCENT,...")
    group.add_argument("--to-latest", action="store_true", help="Send all traffic to the latest revision.")
    p.add_argument("--update-tags", help="TAG=REVISION,...")
    p.add_argument("--set-tags", help="TAG=REVISION,... (the other tags are removed)")
    p.add_argument("--remove-tags", help="TAG,...")
    p.add_argument("--clear-tags", action="store_true")
    args = p.parse_args(argv)
    name = _need_service(args)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    update_tags = _env_pairs(args.update_tags or args.set_tags or "", "--update-tags")
    remove_tags = [t for t in (args.remove_tags or "").split(",") if t]
    clear_others = bool(args.set_tags) or args.clear_tags
    new = ({traffic.LATEST: 100} if args.to_latest else
           traffic.parse_pairs(args.to_revisions, "--to-revisions") if args.to_revisions else
           traffic.parse_pairs(args.to_tags, "--to-tags") if args.to_tags else {})
    if not (new or update_tags or remove_tags or clear_others):
        raise GcloudError("No traffic configuration change requested.")
    client = _clients()
    full_name = _service_name(project, region, name)
    service = _get(client, full_name)
    if service is None:
        raise GcloudError(f"Service [{name}] could not be found.")
    targets = traffic.from_v2(service.traffic)
    if update_tags or remove_tags or clear_others:
        targets = traffic.update_tags(targets, update_tags, remove_tags, clear_others)
    if new:
        if args.to_tags:
            new = traffic.by_tag(targets, new, name)
        targets = traffic.update_traffic(targets, new)
    del service.traffic[:]
    service.traffic.extend(traffic.to_v2(targets))
    print("Updating traffic...", file=sys.stderr)
    _stage("Routing traffic...")
    try:
        operation = client.update_service(service=service)
        if args.async_:
            _stage_end()
            print("Updating traffic asynchronously.", file=sys.stderr)
            return 0
        updated = cli.wait(operation, 120)
    except Exception as exc:
        _stage_end(False)
        print("Updating traffic failed", file=sys.stderr)
        if type(exc).__module__.startswith("google.api_core"):
            raise _operation_error(exc) from None
        raise
    _stage_end()
    print("Done.", file=sys.stderr)
    print(f"URL: {_url(updated)}")
    print("Traffic:")
    print("\n".join(_traffic_lines(updated)))
    return 0


def add_iam_policy_binding(argv: list[str]) -> int:
    p = _parser("services add-iam-policy-binding", "Add IAM policy binding to a Cloud Run service.")
    p.add_argument("--member", help="The principal to add the binding for (e.g. allUsers).")
    p.add_argument("--role", help="The role to grant (e.g. roles/run.invoker).")
    args = p.parse_args(argv)
    name = _need_service(args)
    if not args.member:
        raise GcloudError("argument --member: Must be specified.", exit_code=2)
    if not args.role:
        raise GcloudError("argument --role: Must be specified.", exit_code=2)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    client = _clients()
    full_name = _service_name(project, region, name)
    from google.iam.v1 import policy_pb2

    policy = client.get_iam_policy(request={"resource": full_name})
    binding = next((b for b in policy.bindings if b.role == args.role), None) or policy.bindings.add(role=args.role)
    if args.member not in binding.members:
        binding.members.append(args.member)
    updated = client.set_iam_policy(request={"resource": full_name, "policy": policy_pb2.Policy(
        bindings=policy.bindings, etag=policy.etag)})
    print(f"Updated IAM policy for service [{name}].", file=sys.stderr)
    _print_policy(updated, args.format)
    return 0


def get_iam_policy(argv: list[str]) -> int:
    args = _parser("services get-iam-policy", "Get the IAM policy for a Cloud Run service.").parse_args(argv)
    name = _need_service(args)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    policy = _clients().get_iam_policy(request={"resource": _service_name(project, region, name)})
    _print_policy(policy, args.format)
    return 0


def _print_policy(policy, fmt: str | None) -> None:
    import base64

    from labkit.gcloud import formats

    data = {"bindings": [{"members": list(b.members), "role": b.role} for b in policy.bindings],
            "etag": base64.b64encode(policy.etag).decode(), "version": policy.version or 1}
    sys.stdout.write(formats.render(data, fmt, "yaml", single=True))


# -- revisions ------------------------------------------------------------------------------

def revisions_list(argv: list[str]) -> int:
    from labkit.gcloud import formats

    p = _parser("revisions list", "List available revisions.", service=False)
    p.add_argument("--service", help="Limit matched revisions to the given service.")
    p.add_argument("--limit", type=int)
    args = p.parse_args(argv)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    cli.require_cloud()
    from labkit import gcp

    services = gcp.run_client()
    revisions_client = gcp.revisions_client()
    parent = _service_name(project, region, args.service or "-")
    if args.service and _get(services, parent) is None:
        raise GcloudError(f"Service [{args.service}] could not be found.")
    serving = _serving(services, project, region, args.service)
    rows = []
    for r in revisions_client.list_revisions(parent=parent):
        shaped = run_shape.revision(r, serving.get(r.service.rsplit("/", 1)[-1], {}))
        created = shaped["metadata"]["creationTimestamp"] or ""
        shaped.update(active_text="yes" if shaped["active"] else "",
                      deployed=created[:19].replace("T", " ") + " UTC" if created else "")
        rows.append(shaped)
    rows.sort(key=lambda r: (r["service_name"], r["metadata"]["creationTimestamp"] or ""), reverse=False)
    rows.sort(key=lambda r: r["metadata"]["creationTimestamp"] or "", reverse=True)
    rows.sort(key=lambda r: r["service_name"])
    rows = rows[:args.limit] if args.limit else rows
    kind = formats.parse(args.format, REVISION_LIST_FORMAT)[0]
    shown = [{k: r[k] for k in ("apiVersion", "kind", "metadata", "spec", "status")} for r in rows] \
        if kind in ("json", "yaml") else rows
    sys.stdout.write(formats.render(shown, args.format, REVISION_LIST_FORMAT))
    if not rows:
        print("Listed 0 items.", file=sys.stderr)
    return 0


def _serving(services_client, project: str, region: str, only: str | None) -> dict[str, dict[str, int]]:
    """service name -> {revision: percent} of what serves now (gcloud's ACTIVE column)."""
    result: dict[str, dict[str, int]] = {}
    if only:
        found = [_get(services_client, _service_name(project, region, only))]
    else:
        found = list(services_client.list_services(parent=f"projects/{project}/locations/{region}"))
    for s in filter(None, found):
        latest = s.latest_ready_revision.rsplit("/", 1)[-1]
        shares = result.setdefault(s.name.rsplit("/", 1)[-1], {})
        for t in s.traffic_statuses:
            key = t.revision or latest
            shares[key] = shares.get(key, 0) + t.percent
    return result


def revisions_describe(argv: list[str]) -> int:
    from labkit.gcloud import formats

    p = cli.parser("run revisions describe", "Obtain details about a given revision.")
    p.add_argument("revision", metavar="REVISION")
    p.add_argument("--region")
    p.add_argument("--platform")
    args = p.parse_args(argv)
    _platform(args)
    region, project = _region(args), config.project(args.project)
    cli.require_cloud()
    from labkit import gcp

    # a revision's name does not always say its service (--revision-suffix, --tag): look through them all
    revision = next((r for r in gcp.revisions_client().list_revisions(parent=_service_name(project, region, "-"))
                     if r.name.rsplit("/", 1)[-1] == args.revision), None)
    if revision is None:
        raise GcloudError(f"Cannot find revision [{args.revision}]")
    shaped = run_shape.revision(revision)
    sys.stdout.write(formats.render({k: shaped[k] for k in ("apiVersion", "kind", "metadata", "spec", "status")},
                                    args.format, "yaml", single=True))
    return 0

