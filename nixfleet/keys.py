"""argv lists for keys and secrets: SSH and age key pairs, and sops. Pure functions.

Used by ``nixfleet host add``/``retire`` on the user's flake, and by the lab for its own.
"""

from __future__ import annotations

from pathlib import Path

Argv = list[str]


def keygen(path: Path, comment: str) -> Argv:
    """A new passphrase-less ed25519 key pair at ``path``."""
    return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]


def age_keygen(path: Path) -> Argv:
    """A new age identity at ``path`` (created 0600); its public key is printed on stderr."""
    return ["age-keygen", "-o", str(path)]


def age_recipient(path: Path) -> Argv:
    """The public key (recipient) of the age identity at ``path``."""
    return ["age-keygen", "-y", str(path)]


def sops_encrypt(config: Path, name: str) -> Argv:
    """Encrypt JSON on stdin as the sops file ``name``, to the recipients the creation rules in
    ``config`` (a ``.sops.yaml``) give it; the YAML comes out on stdout. The config is named, so
    no other ``.sops.yaml`` (the repository's own) is looked for.

    >>> sops_encrypt(Path(".lab/flake/.sops.yaml"), "secrets.yaml")[2:6]
    ['--config', '.lab/flake/.sops.yaml', '--filename-override', 'secrets.yaml']
    """
    return [
        "sops",
        "--disable-version-check",
        "--config",
        str(config),
        "--filename-override",
        name,
        "--encrypt",
        "--input-type",
        "json",
        "--output-type",
        "yaml",
        "/dev/stdin",
    ]


def sops_decrypt(path: Path) -> Argv:
    """Decrypt the sops file at ``path`` to JSON on stdout, with the age identity named by
    ``SOPS_AGE_KEY_FILE`` (the admin's key).

    >>> sops_decrypt(Path("secrets/secrets.yaml"))[-1]
    'secrets/secrets.yaml'
    """
    return ["sops", "--disable-version-check", "--decrypt", "--output-type", "json", str(path)]


def syncthing_generate(home: Path) -> Argv:
    """A new Syncthing identity (cert.pem, key.pem) in ``home``, without a default folder."""
    return ["syncthing", "generate", f"--home={home}", "--no-default-folder", "--skip-port-probing"]


def syncthing_device_id(home: Path) -> Argv:
    """The device ID of the Syncthing identity in ``home``."""
    return ["syncthing", "-device-id", f"--home={home}"]


def tls_ca(key: Path, cert: Path, name: str, days: int = 3650) -> Argv:
    """A new certificate authority: an EC key at ``key`` and its self-signed certificate."""
    return [
        *_new_ec_key(key),
        "-x509",
        "-days",
        str(days),
        "-out",
        str(cert),
        "-subj",
        f"/CN={name}",
    ]


def tls_request(key: Path, request: Path, name: str) -> Argv:
    """A new EC key at ``key`` and a certificate request for ``name``."""
    return [*_new_ec_key(key), "-out", str(request), "-subj", f"/CN={name}"]


def tls_sign(
    request: Path, ca_key: Path, ca_cert: Path, cert: Path, extensions: Path, days: int = 3650
) -> Argv:
    """Sign ``request`` with the CA, adding the X.509 ``extensions`` (its subjectAltName)."""
    return [
        "openssl",
        "x509",
        "-req",
        "-in",
        str(request),
        "-CA",
        str(ca_cert),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        str(days),
        "-extfile",
        str(extensions),
        "-out",
        str(cert),
    ]


def _new_ec_key(key: Path) -> Argv:
    return [
        "openssl",
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(key),
    ]


def htpasswd_hash() -> Argv:
    """The htpasswd (Apache MD5) hash of the password on stdin, which never goes in argv."""
    return ["openssl", "passwd", "-apr1", "-stdin"]
