"""ECR repositories through the official boto3 client: create, describe, delete, settings, tags,
policies, and the errors the lesson's mistakes produce (code AND message)."""
from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.cloud.helpers import ACCOUNT, REGION, ecr_push, make_image

NAME_PATTERN = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "description": "keep the last 10 images",
                                   "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                 "countNumber": 10},
                                   "action": {"type": "expire"}}]})


def error(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def ecr(aws):
    return aws("ecr")


def test_create_repository_answers_as_ecr(ecr):
    repo = ecr.create_repository(repositoryName="my-app")["repository"]
    assert repo["repositoryName"] == "my-app"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryArn"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/my-app"
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert repo["createdAt"].year >= 2024  # botocore parsed an epoch timestamp


def test_create_repository_with_settings_and_slash_name(ecr):
    repo = ecr.create_repository(repositoryName="team/my-app", imageTagMutability="IMMUTABLE",
                                 imageScanningConfiguration={"scanOnPush": True},
                                 tags=[{"Key": "course", "Value": "containers"}])["repository"]
    assert repo["repositoryUri"].endswith("/team/my-app")
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
        {"Key": "course", "Value": "containers"}]


def test_repository_already_exists(ecr):
    ecr.create_repository(repositoryName="my-app")
    with pytest.raises(ClientError) as exc:
        ecr.create_repository(repositoryName="my-app")
    assert error(exc) == ("RepositoryAlreadyExistsException",
                          f"The repository with name 'my-app' already exists in the registry with id '{ACCOUNT}'")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_repository(ecr):
    message = f"The repository with name 'my-app' does not exist in the registry with id '{ACCOUNT}'"
    for call in (lambda: ecr.describe_repositories(repositoryNames=["my-app"]),
                 lambda: ecr.list_images(repositoryName="my-app"),
                 lambda: ecr.describe_images(repositoryName="my-app"),
                 lambda: ecr.delete_repository(repositoryName="my-app")):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("RepositoryNotFoundException", message)
    assert exc.type is ecr.exceptions.RepositoryNotFoundException


@pytest.mark.parametrize("name", ["My-App", "my_app_", "-app", "my app", "app/", "my-app:v1"])
def test_invalid_repository_name(ecr, name):
    with pytest.raises(ClientError) as exc:
        ecr.create_repository(repositoryName=name)
    assert error(exc) == ("InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy "
                                                        f"constraint: 'must satisfy regular expression '{NAME_PATTERN}''")


def test_repository_name_length(fresh_cloud):
    # botocore checks the minimum length itself; without its validation the server says the same
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=fresh_cloud.endpoint, aws_access_key_id="test",
                       aws_secret_access_key="test", config=Config(parameter_validation=False))
    for name, constraint in (("a", "must have length greater than or equal to 2"),
                             ("a" * 257, "must have length less than or equal to 256")):
        with pytest.raises(ClientError) as exc:
            ecr.create_repository(repositoryName=name)
        assert error(exc) == ("InvalidParameterException",
                              f"Invalid parameter at 'repositoryName' failed to satisfy constraint: '{constraint}'")


def test_describe_repositories_paginates(ecr):
    names = [f"app-{i}" for i in range(5)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    first = ecr.describe_repositories(maxResults=2)
    assert len(first["repositories"]) == 2 and "nextToken" in first
    pages = ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2})
    assert [r["repositoryName"] for page in pages for r in page["repositories"]] == names


def test_regions_are_separate(ecr, aws):
    ecr.create_repository(repositoryName="my-app")
    other = aws("ecr", region="us-east-1")
    assert other.describe_repositories()["repositories"] == []
    repo = other.create_repository(repositoryName="my-app")["repository"]
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/my-app"


def test_delete_repository_needs_force_when_it_holds_images(ecr):
    ecr.create_repository(repositoryName="my-app")
    ecr_push(ecr, "my-app", make_image())
    with pytest.raises(ClientError) as exc:
        ecr.delete_repository(repositoryName="my-app")
    assert error(exc) == ("RepositoryNotEmptyException", f"The repository with name 'my-app' in registry with id "
                                                         f"'{ACCOUNT}' cannot be deleted because it still contains images")
    deleted = ecr.delete_repository(repositoryName="my-app", force=True)["repository"]
    assert deleted["repositoryName"] == "my-app"
    assert ecr.describe_repositories()["repositories"] == []


def test_tag_mutability_and_scanning_settings(ecr):
    ecr.create_repository(repositoryName="my-app")
    answer = ecr.put_image_tag_mutability(repositoryName="my-app", imageTagMutability="IMMUTABLE")
    assert answer["imageTagMutability"] == "IMMUTABLE" and answer["registryId"] == ACCOUNT
    answer = ecr.put_image_scanning_configuration(repositoryName="my-app",
                                                  imageScanningConfiguration={"scanOnPush": True})
    assert answer["imageScanningConfiguration"] == {"scanOnPush": True}
    repo = ecr.describe_repositories(repositoryNames=["my-app"])["repositories"][0]
    assert (repo["imageTagMutability"], repo["imageScanningConfiguration"]) == ("IMMUTABLE", {"scanOnPush": True})


def test_resource_tags(ecr):
    arn = ecr.create_repository(repositoryName="my-app")["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}])
    ecr.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as exc:
        ecr.list_tags_for_resource(resourceArn=arn.replace("my-app", "other"))
    assert error(exc)[0] == "RepositoryNotFoundException"


def test_lifecycle_policy_is_stored_and_returned(ecr):
    ecr.create_repository(repositoryName="my-app")
    with pytest.raises(ClientError) as exc:
        ecr.get_lifecycle_policy(repositoryName="my-app")
    assert error(exc) == ("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository "
                                                              f"with name 'my-app' in the registry with id '{ACCOUNT}'")
    assert ecr.put_lifecycle_policy(repositoryName="my-app", lifecyclePolicyText=LIFECYCLE)["lifecyclePolicyText"] \
        == LIFECYCLE
    assert ecr.get_lifecycle_policy(repositoryName="my-app")["lifecyclePolicyText"] == LIFECYCLE
    ecr.delete_lifecycle_policy(repositoryName="my-app")
    with pytest.raises(ClientError):
        ecr.get_lifecycle_policy(repositoryName="my-app")
    bad = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}, "action": {"type": "expire"}}],
                      "padding": "x" * 80})
    with pytest.raises(ClientError) as exc:
        ecr.put_lifecycle_policy(repositoryName="my-app", lifecyclePolicyText=bad)
    assert error(exc)[0] == "InvalidParameterException"


def test_repository_policy_is_stored_and_returned(ecr):
    ecr.create_repository(repositoryName="my-app")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["ecr:BatchGetImage"]}]})
    ecr.set_repository_policy(repositoryName="my-app", policyText=policy)
    assert ecr.get_repository_policy(repositoryName="my-app")["policyText"] == policy
    ecr.delete_repository_policy(repositoryName="my-app")
    with pytest.raises(ClientError) as exc:
        ecr.get_repository_policy(repositoryName="my-app")
    assert error(exc)[0] == "RepositoryPolicyNotFoundException"


def test_unknown_and_missing_operations(ecr, fresh_cloud):
    # an X-Amz-Target ECR does not have: what AWS's JSON front end answers
    response = requests.post(fresh_cloud.endpoint, data="{}", headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.MakeCoffee",
        "Content-Type": "application/x-amz-json-1.1"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"__type": "com.amazon.coral.service#UnknownOperationException"}
    # a real ECR operation the local cloud does not emulate: said plainly, not as the student's error
    with pytest.raises(ClientError) as exc:
        ecr.describe_pull_through_cache_rules()
    assert error(exc)[0] == "NotImplemented"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
