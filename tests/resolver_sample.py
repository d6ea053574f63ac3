"""A small template that exercises every intrinsic function the resolver knows, shared by its tests and the
offline replacement prediction's tests."""

from __future__ import annotations

from typing import Any

STACK_ARN = "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/0f1e2d3c"
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
        "Secret": {"Type": "String", "NoEcho": True},
        "UseLogs": {"Type": "String", "Default": "yes"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "WithLogs": {
            "Fn::And": [{"Fn::Equals": [{"Ref": "UseLogs"}, "yes"]}, {"Fn::Not": [{"Condition": "IsProd"}]}]
        },
        "SecretSet": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Secret"}, ""]}]},
    },
    "Mappings": {"Sizes": {"dev": {"Days": "7"}, "prod": {"Days": "90"}}},
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "site-${Env}-${AWS::AccountId}-${AWS::Region}"}},
        },
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Condition": "WithLogs",
            "Properties": {
                "LogGroupName": {"Fn::Join": ["/", ["", "app", {"Fn::Select": [1, {"Ref": "Names"}]}]]},
                "RetentionInDays": {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Days"]},
            },
        },
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": {"Fn::Sub": "key ${Env}"}}},
    },
}
