"""A policy that queries its own Prometheus over TLS with basic auth from Secrets: a real
Prometheus with a web config, and the credentials never leak."""

from __future__ import annotations

import base64

import bcrypt
import pytest

from devenv.certs import generate_cluster_certs
from devenv.prometheus import LocalPrometheus
from tests.alerting import apply, policy, policy_condition, wait_states
from tests.kubectl import create_secret
from tests.waiting import get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]
PASSWORD = "wk-prom-pass-81723"


@pytest.fixture
def secured_prometheus(tmp_path, exporter):
    certs = generate_cluster_certs(tmp_path / "certs")
    web_config = {
        "tls_server_config": {
            "cert_file": str(certs.apiserver.cert),
            "key_file": str(certs.apiserver.key),
        },
        "basic_auth_users": {"alice": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()},
    }
    server = LocalPrometheus(tmp_path / "prometheus", exporter.address, web_config=web_config)
    server.start()
    try:
        yield server, certs.ca.cert.read_text()
    finally:
        server.stop()


def test_policy_queries_its_own_prometheus_with_tls_and_basic_auth(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, secured_prometheus
):
    server, ca_pem = secured_prometheus
    exporter.set("wk_src_value", 9)
    create_secret(
        core_v1, namespace, "prom", {"user": "alice", "password": PASSWORD, "ca.crt": ca_pem}
    )
    source = {
        "url": f"https://127.0.0.1:{server.port}",
        "basicAuth": {
            "usernameSecretRef": {"name": "prom", "key": "user"},
            "passwordSecretRef": {"name": "prom", "key": "password"},
        },
        "caSecretRef": {"name": "prom", "key": "ca.crt"},
    }
    apply(kubeconfig, namespace, policy("secured", "wk_src_value", prometheus=source))
    wait_states(custom_objects, namespace, "secured", [("Firing", "Critical")], timeout=40)

    core_v1.patch_namespaced_secret(
        "prom", namespace, {"data": {"password": base64.b64encode(b"wrong").decode()}}
    )
    cond = policy_condition(
        custom_objects, namespace, "secured", "PrometheusUnavailable", timeout=40
    )
    assert "401" in cond["message"] or "Unauthorized" in cond["message"]
    assert PASSWORD not in str(get_object(custom_objects, "alertpolicies", namespace, "secured"))
    assert PASSWORD not in operator.log_text()


def test_missing_credentials_secret_is_explained(operator, kubeconfig, namespace, custom_objects):
    source = {
        "url": "https://127.0.0.1:1",
        "bearerTokenSecretRef": {"name": "nope", "key": "token"},
    }
    apply(kubeconfig, namespace, policy("nocreds", "up", prometheus=source))
    cond = policy_condition(custom_objects, namespace, "nocreds", "PrometheusUnavailable")
    assert "Secret nope not found" in cond["message"]
