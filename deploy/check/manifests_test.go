// Package check validates the Kubernetes manifests in deploy/kubernetes
// offline: each object decodes strictly into the Kubernetes API types (an
// unknown or misspelt field fails), the objects agree with each other
// (names, labels, ports, timings), and the spec and bindings in the
// ConfigMap pass `apigw validate`. It is a module of its own so that the
// gateway does not depend on the Kubernetes API packages.
package check

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

type objects struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	policies    map[string]*networkingv1.NetworkPolicy
}

func load(t *testing.T) *objects {
	t.Helper()
	o := &objects{map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}, map[string]*corev1.ConfigMap{}, map[string]*corev1.Secret{}, map[string]*autoscalingv2.HorizontalPodAutoscaler{}, map[string]*networkingv1.NetworkPolicy{}}
	files, _ := filepath.Glob("../kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(src), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			decode := func(v interface{ GetName() string }) string {
				if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
					t.Errorf("%s #%d (%s): %v", f, i, head.Kind, err)
				}
				return v.GetName()
			}
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				d := &appsv1.Deployment{}
				o.deployments[decode(d)] = d
			case "v1 Service":
				s := &corev1.Service{}
				o.services[decode(s)] = s
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				o.configMaps[decode(c)] = c
			case "v1 Secret":
				s := &corev1.Secret{}
				o.secrets[decode(s)] = s
			case "autoscaling/v2 HorizontalPodAutoscaler":
				h := &autoscalingv2.HorizontalPodAutoscaler{}
				o.hpas[decode(h)] = h
			case "networking.k8s.io/v1 NetworkPolicy":
				p := &networkingv1.NetworkPolicy{}
				o.policies[decode(p)] = p
			default:
				t.Errorf("%s #%d: unexpected %s %s", f, i, head.APIVersion, head.Kind)
			}
		}
	}
	return o
}

func TestManifests(t *testing.T) {
	o := load(t)
	gw := o.deployments["apigw"]
	if gw == nil {
		t.Fatal("no apigw Deployment")
	}
	pod := gw.Spec.Template
	for k, v := range gw.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v {
			t.Errorf("the selector %s=%s does not select the pods", k, v)
		}
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil || ports[probe.HTTPGet.Port.StrVal] != 9090 {
			t.Errorf("%s probe must GET the admin port: %+v", name, probe)
		}
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes must use /readyz (readiness) and /healthz (liveness)")
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod must run as non-root")
	}
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil && o.configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("volume %s names ConfigMap %s, which is not defined", v.Name, v.ConfigMap.Name)
		}
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && o.secrets[e.SecretRef.Name] == nil {
			t.Errorf("envFrom names Secret %s, which is not defined", e.SecretRef.Name)
		}
	}
	for name, svc := range o.services {
		matched := false
		for _, d := range o.deployments {
			ok := true
			for k, v := range svc.Spec.Selector {
				if d.Spec.Template.Labels[k] != v {
					ok = false
				}
			}
			matched = matched || ok
		}
		if !matched {
			t.Errorf("Service %s selects no Deployment's pods", name)
		}
	}
	for name, h := range o.hpas {
		if o.deployments[h.Spec.ScaleTargetRef.Name] == nil {
			t.Errorf("HPA %s scales %s, which is not defined", name, h.Spec.ScaleTargetRef.Name)
		}
	}

	// The admin port answers only chosen peers; the API port everyone.
	np := o.policies["apigw"]
	if np == nil {
		t.Fatal("no apigw NetworkPolicy")
	}
	for k, v := range np.Spec.PodSelector.MatchLabels {
		if pod.Labels[k] != v {
			t.Errorf("the NetworkPolicy's selector %s=%s does not select the pods", k, v)
		}
	}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil || ports[p.Port.StrVal] == 0 {
				t.Errorf("the NetworkPolicy names port %v, which the container does not", p.Port)
			}
			if p.Port != nil && p.Port.StrVal == "admin" && len(rule.From) == 0 {
				t.Error("the NetworkPolicy opens the admin port to everyone")
			}
		}
	}

	// The bindings and the spec in the ConfigMap are valid, and the drain
	// fits in the grace period.
	cm := o.configMaps["apigw-config"]
	if cm == nil {
		t.Fatal("no apigw-config ConfigMap")
	}
	dir := t.TempDir()
	for _, k := range []string{"api.yaml", "apigw.yaml"} {
		os.WriteFile(filepath.Join(dir, k), []byte(cm.Data[k]), 0o644)
	}
	var b struct {
		Limits struct {
			ShutdownTimeout string `json:"shutdown_timeout"`
			DrainDelay      string `json:"drain_delay"`
		} `json:"limits"`
	}
	yaml.Unmarshal([]byte(cm.Data["apigw.yaml"]), &b)
	drain, err := time.ParseDuration(b.Limits.ShutdownTimeout)
	if err != nil {
		drain = 30 * time.Second // the gateway's default
	}
	delay, err := time.ParseDuration(b.Limits.DrainDelay)
	if err != nil {
		delay = 5 * time.Second // the gateway's default
	}
	drain += delay
	var pause time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second; drain+pause > grace {
		t.Errorf("preStop %s + drain_delay + shutdown_timeout %s exceed terminationGracePeriodSeconds %s", pause, drain, grace)
	}
	// The ConfigMap points Redis at the in-cluster service, which validate
	// does not dial; the spec and bindings must otherwise be valid.
	cmd := exec.Command("go", "run", "./cmd/apigw", "validate", "--spec", filepath.Join(dir, "api.yaml"), "--config", filepath.Join(dir, "apigw.yaml"))
	cmd.Dir = "../.."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("apigw validate on the ConfigMap: %v\n%s", err, out.String())
	}
}
