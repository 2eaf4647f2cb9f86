"""TLS in the rendered prod overlay (k8s/components/tls): every gRPC server serves TLS from a cert-manager
certificate whose names include the address its callers dial, dns and identity require the worker's client
certificate, the worker verifies them with the issuing CA, and the probes stay on the plaintext health port.
Dev stays plaintext. The database URL templates verify the server (sslmode=verify-full with a CA)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
import yaml
from k8slib import GRPC_SERVICES, K8S, Obj, deployment_env, main_container, of_kind, one

ISSUER = {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "a4c-internal-ca"}
MTLS = ("dns", "identity")  # called only by the worker, which has a certificate


def mounted_secret(docs: list[Obj], part: str, path: str) -> str:
    """The Secret whose volume is mounted read-only at the folder holding `path` in the part's container."""
    deployment = one(docs, "Deployment", f"a4c-{part}")
    folder = PurePosixPath(path).parent
    (mount,) = [
        m
        for m in main_container(deployment).get("volumeMounts", [])
        if PurePosixPath(m["mountPath"]) == folder
    ]
    assert mount.get("readOnly") is True, f"{part}: {folder} is writable"
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    return str(volume["secret"]["secretName"])


def certificate_for(docs: list[Obj], secret: str) -> Obj:
    (certificate,) = [c for c in of_kind(docs, "Certificate") if c["spec"]["secretName"] == secret]
    return certificate


def test_prod_serves_tls_on_every_grpc_port_from_a_certificate_for_the_name_callers_dial(rendered):
    docs = rendered["prod"]
    worker = deployment_env(docs, "worker")
    for part in GRPC_SERVICES:
        settings = deployment_env(docs, part)
        cert, key = str(settings["A4C_TLS_CERT_FILE"]), str(settings["A4C_TLS_KEY_FILE"])
        secret = mounted_secret(docs, part, cert)
        assert mounted_secret(docs, part, key) == secret
        certificate = certificate_for(docs, secret)
        assert (PurePosixPath(cert).name, PurePosixPath(key).name) == (
            "tls.crt",
            "tls.key",
        )  # cert-manager's keys
        assert certificate["spec"]["issuerRef"] == ISSUER
        assert "server auth" in certificate["spec"]["usages"]
        names = certificate["spec"]["dnsNames"]
        assert f"a4c-{part}.a4c-prod.svc.cluster.local" in names, part
        if part in MTLS:
            assert str(worker[f"A4C_{part.upper()}_SERVICE_ADDRESS"]).rsplit(":", 1)[0] in names
            assert PurePosixPath(str(settings["A4C_TLS_CLIENT_CA_FILE"])).name == "ca.crt"
            assert mounted_secret(docs, part, str(settings["A4C_TLS_CLIENT_CA_FILE"])) == secret


def test_the_prod_worker_verifies_the_services_and_presents_a_client_certificate(rendered):
    docs = rendered["prod"]
    settings = deployment_env(docs, "worker")
    files = [str(settings[f"A4C_SERVICE_TLS_{k}_FILE"]) for k in ("CA", "CERT", "KEY")]
    secrets = {mounted_secret(docs, "worker", f) for f in files}
    (secret,) = secrets
    certificate = certificate_for(docs, secret)
    assert certificate["spec"]["issuerRef"] == ISSUER  # the same CA the services trust for clients
    assert "client auth" in certificate["spec"]["usages"]
    assert [PurePosixPath(f).name for f in files] == ["ca.crt", "tls.crt", "tls.key"]


def test_prod_deployments_roll_when_their_certificate_is_renewed(rendered):
    docs = rendered["prod"]
    for certificate in of_kind(docs, "Certificate"):
        part = certificate["metadata"]["labels"]["app.kubernetes.io/name"]
        annotations = one(docs, "Deployment", part)["metadata"].get("annotations", {})
        assert annotations.get("secret.reloader.stakater.com/reload") == certificate["spec"]["secretName"]


def test_dev_stays_plaintext_and_names_no_certificate(rendered):
    docs = rendered["dev"]
    assert not of_kind(docs, "Certificate")
    for part in GRPC_SERVICES:
        assert "A4C_TLS_CERT_FILE" not in deployment_env(docs, part)


@pytest.mark.parametrize("secret", ["a4c-database", "a4c-database-migrate"])
def test_the_database_url_templates_verify_the_server_with_the_mounted_ca(rendered, secret):
    text = (K8S / "secrets" / "a4c-secrets.template.yaml").read_text()
    (template,) = [d for d in yaml.safe_load_all(text) if d and d["metadata"]["name"] == secret]
    block = text[text.index(f"name: {secret}\n") :].split("---")[0]
    assert "sslmode=verify-full" in block
    assert "sslmode=require" not in block
    ca = block.split("sslrootcert=")[1].split()[0]
    assert "DATABASE_URL" in template["stringData"]
    for part in ("provisioning", "worker"):
        assert mounted_secret(rendered["prod"], part, ca) == "a4c-database-ca"
    readme = (K8S / "secrets" / "README.md").read_text()
    assert f"sslrootcert={ca}" in readme
    assert "sslmode=require" not in readme
