import os


def handler(event, context):
    if event["queryStringParameters"].get("exit"):
        os._exit(1)  # the process dies mid-invocation
    if event["queryStringParameters"].get("raise"):
        raise ValueError("bad input")
    return {"statusCode": 200, "body": str(os.getpid())}
