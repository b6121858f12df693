"""A throwaway PKI for the local control plane, made with ``cryptography``.

One CA signs the kube-apiserver's serving certificate and the client certificates of the
admin (``O=system:masters``), kube-controller-manager and kube-scheduler; a separate RSA
key pair signs and verifies service-account tokens. TLS keys are ECDSA P-256, which is
quick to generate.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
CLOCK_SKEW = datetime.timedelta(hours=1)
SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
# 127.0.0.1 for clients on loopback; 10.0.0.1 is the first IP of --service-cluster-ip-range.
SERVING_IPS = ("127.0.0.1", "10.0.0.1")


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its PEM private key on disk."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterCerts:
    """Every file the control plane and its clients need."""

    ca: CertPair
    apiserver: CertPair
    admin: CertPair
    controller_manager: CertPair
    scheduler: CertPair
    service_account_key: Path
    service_account_public_key: Path


def generate_cluster_certs(directory: Path) -> ClusterCerts:
    """Create the CA, the serving and client certificates and the SA key pair in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)

    def issue(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> CertPair:
        pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
        _write_cert(pair.cert, cert)
        _write_key(pair.key, key)
        return pair

    ca = issue("ca", ca_cert, ca_key)
    apiserver_key = ec.generate_private_key(ec.SECP256R1())
    apiserver = issue(
        "apiserver", _serving_certificate(ca_cert, ca_key, apiserver_key), apiserver_key
    )
    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = issue(
        "admin",
        _client_certificate(ca_cert, ca_key, admin_key, "admin", ("system:masters",)),
        admin_key,
    )
    kcm_key = ec.generate_private_key(ec.SECP256R1())
    controller_manager = issue(
        "controller-manager",
        _client_certificate(ca_cert, ca_key, kcm_key, "system:kube-controller-manager", ()),
        kcm_key,
    )
    scheduler_key = ec.generate_private_key(ec.SECP256R1())
    scheduler = issue(
        "scheduler",
        _client_certificate(ca_cert, ca_key, scheduler_key, "system:kube-scheduler", ()),
        scheduler_key,
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_private = directory / "sa.key"
    _write_key(sa_private, sa_key)
    sa_public = directory / "sa.pub"
    sa_public.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return ClusterCerts(
        ca=ca,
        apiserver=apiserver,
        admin=admin,
        controller_manager=controller_manager,
        scheduler=scheduler,
        service_account_key=sa_private,
        service_account_public_key=sa_public,
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watchkeeper-local-ca")])
    builder = (
        _base_builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
    )
    return builder.sign(key, hashes.SHA256())


def _serving_certificate(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in SERVING_DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    builder = _leaf_builder(ca_cert, subject, key, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _client_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    user: str,
    groups: tuple[str, ...],
) -> x509.Certificate:
    """Kubernetes reads the user from CN and the groups from O."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    subject = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, user)])
    builder = _leaf_builder(ca_cert, subject, key, ExtendedKeyUsageOID.CLIENT_AUTH)
    return builder.sign(ca_key, hashes.SHA256())


def _leaf_builder(
    ca_cert: x509.Certificate,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
) -> x509.CertificateBuilder:
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        _base_builder(ca_cert.subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )


def _base_builder(
    issuer: x509.Name, subject: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .issuer_name(issuer)
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
