"""A WebSocket chat as Yandex Cloud Functions handlers (unchanged in the cloud
but for APIGW_ADMIN: there, call apigateway-connections.api.cloud.yandex.net
with an IAM token). Every message is broadcast to everyone on /chat through
the gateway's connection management API."""
import base64
import json
import os
import urllib.request

ADMIN = os.environ.get("APIGW_ADMIN", "http://127.0.0.1:9090")


def broadcast(text):
    body = json.dumps({"path": "/chat", "type": "TEXT",
                       "data": base64.b64encode(text.encode()).decode()}).encode()
    req = urllib.request.Request(ADMIN + "/apigateways/websocket/v1/broadcast", data=body,
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


def name_of(event):
    return event["queryStringParameters"].get("name") or event["requestContext"]["connectionId"][:6]


def connect(event, context):
    # The body of the connect answer is the first message the client gets.
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"},
            "body": "welcome, %s! say something." % name_of(event)}


def message(event, context):
    text = event["body"]
    if event["isBase64Encoded"]:
        text = base64.b64decode(text).decode("utf-8", "replace")
    broadcast("%s: %s" % (name_of(event), text))
    return {"statusCode": 200}  # no body: nothing extra to the sender


def disconnect(event, context):
    broadcast("%s left (%s)" % (name_of(event), event["requestContext"].get("disconnectStatusCode")))
    return {"statusCode": 200}
