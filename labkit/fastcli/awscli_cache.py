"""What the `aws` zygote does ahead of its children besides importing: parse the JSON models the
course's commands load and list the installed services, so a child finds them ready.

Both stay exact: a parsed file is handed to at most one load per child, and only while the file
on disk has the signature (device, inode, size, mtime) it had when parsed (else the child parses
it itself, as botocore would); a service listing is reused only for the installation's own data
folders, while the folder's signature is unchanged. The zygote runs no command itself, so nothing
it parsed was ever modified (botocore merges model extras in place: each child gets its own
copy-on-write pages).

Only installed for the botocore versions this was read against (awscli vendors its botocore);
another version gets the imports alone.
"""
from __future__ import annotations

import os
import stat
import sys

VERIFIED_BOTOCORE = ("1.43.62",)
# Services the course's labs call through the aws CLI (tests/fastcli check the lab sources).
SERVICES = ("ecr", "sts", "ecs", "logs", "servicediscovery", "apprunner", "elbv2", "ec2", "iam")
# Models every command loads, and the service type lists it asks for.
COMMON_FILES = ("endpoints", "partitions", "sdk-default-configuration", "_retry", "sdb/2009-04-15/service-2")
SERVICE_FILES = ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1")
LISTED_TYPES = ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1")

PARSED: dict[str, tuple] = {}  # full path -> (signature, open method, data)
LISTINGS: dict[tuple[str, str], tuple] = {}  # (data folder, type name) -> (signature, services)


def signature(path: str, regular: bool = True):
    try:
        st = os.stat(path)
    except OSError:
        return None
    if regular and not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def install():
    """Patch botocore's loader to use the caches (empty for now). Returns the function that fills
    them, which the zygote runs when idle (so its first request need not wait for it), or None
    for an unverified botocore."""
    import botocore
    import botocore.loaders as loaders

    if botocore.__version__ not in VERIFIED_BOTOCORE:
        return None
    awscli_data = os.path.join(os.path.dirname(sys.modules["awscli"].__file__), "data")
    builtin = loaders.Loader.BUILTIN_DATA_PATH
    original_load = loaders.JSONFileLoader._load_file
    methods = loaders._JSON_OPEN_METHODS

    def _load_file(self, full_path, open_method):
        entry = PARSED.pop(full_path, None)
        if entry is not None and entry[1] is open_method and signature(full_path) == entry[0]:
            loaders.logger.debug("Loading JSON file: %s", full_path)  # as the original logs it
            return entry[2]
        return original_load(self, full_path, open_method)

    def services_in(self, possible_path: str, type_name: str) -> set:
        # botocore's Loader.list_available_services, the loop over one search path
        services = set()
        possible_services = [d for d in os.listdir(possible_path) if os.path.isdir(os.path.join(possible_path, d))]
        for service_name in possible_services:
            full_dirname = os.path.join(possible_path, service_name)
            api_versions = os.listdir(full_dirname)
            for api_version in api_versions:
                full_load_path = os.path.join(full_dirname, api_version, type_name)
                if self.file_loader.exists(full_load_path):
                    services.add(service_name)
                    break
        return services

    @loaders.instance_cache
    def list_available_services(self, type_name):
        services = set()
        for possible_path in self._potential_locations():
            cached = LISTINGS.get((possible_path, type_name))
            if cached is not None and cached[0] == signature(possible_path, regular=False):
                services.update(cached[1])
            else:
                services.update(services_in(self, possible_path, type_name))
        return sorted(services)

    list_available_services.__doc__ = loaders.Loader.list_available_services.__doc__
    loaders.JSONFileLoader._load_file = _load_file
    loaders.Loader.list_available_services = list_available_services

    def fill() -> None:
        file_loader = loaders.JSONFileLoader()

        def parse(base: str) -> None:
            for ext, method in methods.items():
                full = base + ext
                sig = signature(full)
                if sig is not None:
                    PARSED[full] = (sig, method, original_load(file_loader, full, method))
                    return

        for name in COMMON_FILES:
            parse(os.path.join(builtin, name))
        parse(os.path.join(awscli_data, "cli"))
        for service in SERVICES:
            folder = os.path.join(builtin, service)
            try:
                version = sorted(os.listdir(folder))[-1]
            except (OSError, IndexError):
                continue
            for name in SERVICE_FILES:
                parse(os.path.join(folder, version, name))
        probe = loaders.Loader(include_default_search_paths=False)
        for folder in (awscli_data, builtin):
            sig = signature(folder, regular=False)
            if sig is None:
                continue
            for type_name in LISTED_TYPES:
                LISTINGS[(folder, type_name)] = (sig, frozenset(services_in(probe, folder, type_name)))

    return fill
