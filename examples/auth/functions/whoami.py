import json


def handler(event, context):
    """Answers what the authorizer said about the caller."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(event["requestContext"].get("authorizer", {}), sort_keys=True),
    }
