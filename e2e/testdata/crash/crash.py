import json
import os
import time


def handler(event, context):
    q = event["queryStringParameters"]
    if q.get("exit"):
        os._exit(1)  # the process dies mid-invocation
    if q.get("raise"):
        raise ValueError("bad input")
    if q.get("hang"):
        time.sleep(3600)  # never answers
    if q.get("print"):
        print(json.dumps(event))  # a handler that logs its event, body and all
        print("printed", len(event.get("body") or ""))
    return {"statusCode": 200, "body": str(os.getpid())}
