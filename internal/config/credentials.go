package config

import (
	"path/filepath"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// ServiceAccountKey names a Yandex Cloud service account's authorized key
// (the JSON `yc iam key create` writes): a file, or an environment variable
// that holds the JSON. apigw exchanges it for IAM tokens at IAMEndpoint
// (default: Yandex Cloud's).
type ServiceAccountKey struct {
	ServiceAccountKeyFile string `yaml:"service_account_key_file"`
	ServiceAccountKeyEnv  string `yaml:"service_account_key_env"`
	IAMEndpoint           string `yaml:"iam_endpoint"`
}

// HasKey reports whether a key is named.
func (k *ServiceAccountKey) HasKey() bool {
	return k.ServiceAccountKeyFile != "" || k.ServiceAccountKeyEnv != ""
}

// resolve makes a relative key file relative to the bindings file.
func (k *ServiceAccountKey) resolve(base string) {
	if k.ServiceAccountKeyFile != "" && !filepath.IsAbs(k.ServiceAccountKeyFile) {
		k.ServiceAccountKeyFile = filepath.Join(base, k.ServiceAccountKeyFile)
	}
}

// Credentials are how apigw signs in to an S3-, SQS-, Kinesis- or
// DynamoDB-compatible binding: static keys (SigV4), a service account key
// (an IAM token in X-YaCloud-SubjectToken, what Yandex Cloud's
// AWS-compatible services accept instead of a signature), or neither, in
// which case AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the
// environment, else anonymous.
type Credentials struct {
	AccessKeyID       string `yaml:"access_key_id"`
	SecretAccessKey   string `yaml:"secret_access_key"`
	ServiceAccountKey `yaml:",inline"`
}

// HasStaticKeys reports whether static keys are given.
func (c *Credentials) HasStaticKeys() bool { return c.AccessKeyID != "" || c.SecretAccessKey != "" }

// checkCredentials reports contradictory credentials of the binding at n.
func checkCredentials(n *yaml.Node, path string, c *Credentials, errs *yamlx.List) {
	at := func(field string) *yaml.Node {
		if f := yamlx.Get(n, field); f != nil {
			return f
		}
		return n
	}
	if c.ServiceAccountKeyFile != "" && c.ServiceAccountKeyEnv != "" {
		errs.Errorf(at("service_account_key_env"), path, "give service_account_key_file or service_account_key_env, not both")
	}
	if c.HasKey() && (c.AccessKeyID != "" || c.SecretAccessKey != "") {
		errs.Errorf(at("access_key_id"), path, "give static keys (access_key_id, secret_access_key) or a service account key, not both")
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		errs.Errorf(at("access_key_id"), path, "access_key_id and secret_access_key go together")
	}
	if c.IAMEndpoint != "" {
		checkURL(n, path, "iam_endpoint", c.IAMEndpoint, errs)
	}
}

// ServiceAccount binds a service account that the spec names
// (service_account_id of an integration or authorizer, or of
// x-yc-apigateway) to its authorized key: apigw then calls as that account,
// with an IAM token (digest §1.6, §12).
type ServiceAccount struct {
	ServiceAccountKey `yaml:",inline"`

	Node *yaml.Node `yaml:"-"`
}

func checkServiceAccounts(root *yaml.Node, accounts map[string]*ServiceAccount, errs *yamlx.List) {
	section := yamlx.Get(root, "service_accounts")
	for id, sa := range accounts {
		n := yamlx.Get(section, id)
		path := yamlx.Join("service_accounts", id)
		if sa == nil || !sa.HasKey() {
			errs.Errorf(n, path, "needs service_account_key_file or service_account_key_env: the account's authorized key, as `yc iam key create` writes it")
			continue
		}
		sa.Node = n
		if sa.ServiceAccountKeyFile != "" && sa.ServiceAccountKeyEnv != "" {
			errs.Errorf(yamlx.Get(n, "service_account_key_env"), path, "give service_account_key_file or service_account_key_env, not both")
		}
		if sa.IAMEndpoint != "" {
			checkURL(n, path, "iam_endpoint", sa.IAMEndpoint, errs)
		}
	}
}
