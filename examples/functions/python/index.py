import base64
import json
import os


def handler(event, context):
    """An ordinary Yandex Cloud Functions handler: it runs unchanged in the cloud."""
    if event["httpMethod"] == "GET":
        greeting = event["requestContext"].get("apiGateway", {}).get("operationContext", {}).get("greeting")
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": greeting, "runtime": "python", "request_id": context.request_id, "pid": os.getpid()}),
        }
    body = event["body"]
    if event["isBase64Encoded"]:
        body = base64.b64decode(body).decode("utf-8", "replace")
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["seen=1; Path=/", "lang=py; Path=/"]},
        "body": json.dumps({"id": event["pathParameters"]["id"], "got": body, "operationId": event["operationId"]}),
    }
