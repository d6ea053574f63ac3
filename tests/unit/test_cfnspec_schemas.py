"""cfnspec.schemas: what cfn-lint's bundled resource provider schemas say about a type."""

from __future__ import annotations

from cfnspec.schemas import create_only_paths


def test_create_only_properties_are_read_from_cfn_lints_schemas() -> None:
    assert ("BucketName",) in create_only_paths("AWS::S3::Bucket")
    assert create_only_paths("AWS::Logs::LogGroup") == (("LogGroupName",),)
    assert create_only_paths("AWS::KMS::Key") == ()
    assert create_only_paths("AWS::Nothing::Here") == ()
    assert create_only_paths("AWS::S3::Bucket", "xx-nowhere-1") == create_only_paths("AWS::S3::Bucket")


def test_a_pointer_into_a_list_makes_the_whole_list_create_only() -> None:
    # The schema lists /properties/ReplicationInfoList/*/SourceKafkaClusterArn and more parts of the list.
    paths = create_only_paths("AWS::MSK::Replicator")
    assert ("ReplicationInfoList",) in paths
    assert all("*" not in path for path in paths)
    assert len(paths) == len(set(paths))
