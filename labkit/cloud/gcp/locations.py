"""google.cloud.location.Locations for every API: the regions the local cloud offers (the course's
Seoul region first; any region name is accepted by the APIs themselves)."""
from __future__ import annotations

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.paging import page

REGIONS = ["asia-northeast3", "asia-northeast1", "us-central1", "europe-west1"]


def _location(project: str, region: str):
    from google.cloud.location import locations_pb2

    return locations_pb2.Location(name=f"projects/{project}/locations/{region}", location_id=region,
                                  display_name=region)


def list_locations(state, request):
    from google.cloud.location import locations_pb2

    project = request.name.partition("/")[2]
    if not request.name.startswith("projects/") or not project:
        raise errors.InvalidArgument(f"Invalid resource name {request.name!r}.")
    items, token = page([_location(project, r) for r in REGIONS], request.page_size, request.page_token)
    return locations_pb2.ListLocationsResponse(locations=items, next_page_token=token)


def get_location(state, request):
    parts = request.name.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations" or parts[3] not in REGIONS:
        raise errors.NotFound(f"Location {request.name} not found.")
    return _location(parts[1], parts[3])


HANDLERS = {"ListLocations": list_locations, "GetLocation": get_location}
