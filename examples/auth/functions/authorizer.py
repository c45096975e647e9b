import base64

# An example user table; a real authorizer would check a database or a hash.
USERS = {"alice": "secret", "bob": "hunter2"}


def handler(event, context):
    """A Yandex Cloud API Gateway function authorizer for an http basic scheme."""
    auth = event["headers"].get("Authorization", "")
    try:
        user, _, password = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
    except Exception:
        return {"isAuthorized": False}
    if USERS.get(user) != password:
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"user": user, "roles": ["reader"]}}
