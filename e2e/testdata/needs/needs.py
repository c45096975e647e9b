# A handler whose package is not installed (no pip install was run).
import apigw_test_package_not_installed


def handler(event, context):
    return {"statusCode": 200, "body": apigw_test_package_not_installed.x}
