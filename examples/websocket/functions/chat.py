"""A WebSocket chat as Yandex Cloud Functions handlers, as they run in the
cloud: every message goes to each open connection through the cloud's
connection management API, https://apigateway-connections.api.cloud.yandex.net,
with the IAM token from the handler's context. Under apigw those very calls
reach apigw's own management API: no URL to change, no variable to set
(docs/functions.md, "The cloud's connection API from local functions").

The open connections are kept as files in a directory. In the cloud, where
instances share no disk, keep them in YDB, as the cloud's chat tutorial does.
"""
import base64
import json
import os
import re
import tempfile
import urllib.error
import urllib.request

API = "https://apigateway-connections.api.cloud.yandex.net/apigateways/websocket/v1/connections/"


def room(event):
    # One directory per gateway (its host) and path: two gateways on one
    # machine keep separate chats.
    host = re.sub(r"[^A-Za-z0-9.-]", "_", event["headers"].get("Host", "local"))
    path = re.sub(r"[^A-Za-z0-9.-]", "_", event["path"].strip("/")) or "root"
    d = os.path.join(tempfile.gettempdir(), "apigw-chat", host, path)
    os.makedirs(d, exist_ok=True)
    return d


def connection_id(event):
    cid = event["requestContext"]["connectionId"]
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,50}", cid):
        raise ValueError("unexpected connection ID %r" % cid)
    return cid


def name_of(event):
    return event["queryStringParameters"].get("name") or event["requestContext"]["connectionId"][:6]


def send(cid, text, token):
    body = json.dumps({"type": "TEXT", "data": base64.b64encode(text.encode()).decode()}).encode()
    req = urllib.request.Request(API + cid + ":send", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


def broadcast(event, context, text):
    d = room(event)
    for cid in os.listdir(d):
        try:
            send(cid, text, context.token["access_token"])
        except urllib.error.HTTPError as e:
            if e.code == 404:  # gone without a disconnect event
                os.remove(os.path.join(d, cid))
            else:
                print("send to %s: %s %s" % (cid, e.code, e.read().decode()))


def connect(event, context):
    with open(os.path.join(room(event), connection_id(event)), "w") as f:
        f.write(name_of(event))
    # The body of the connect answer is the first message the client gets.
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"},
            "body": "welcome, %s! say something." % name_of(event)}


def message(event, context):
    text = event["body"]
    if event["isBase64Encoded"]:
        text = base64.b64decode(text).decode("utf-8", "replace")
    broadcast(event, context, "%s: %s" % (name_of(event), text))
    return {"statusCode": 200}  # no body: nothing extra to the sender


def disconnect(event, context):
    try:
        os.remove(os.path.join(room(event), connection_id(event)))
    except FileNotFoundError:
        pass
    broadcast(event, context, "%s left (%s)" % (name_of(event), event["requestContext"].get("disconnectStatusCode")))
    return {"statusCode": 200}
