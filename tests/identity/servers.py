"""Real servers for the sign-in tests, on spare local ports: OpenLDAP's slapd with a generated
configuration and directory, and a second Django site acting as the OpenID provider."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
LDAPMODIFY = shutil.which("ldapmodify") or "/usr/bin/ldapmodify"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
PORTS = range(19310, 19399)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 19310-19398")


def wait_for_port(port: int, *, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass(frozen=True)
class Directory:
    uri: str
    base: str
    admin_dn: str
    admin_password: str

    def modify(self, ldif: str) -> None:
        subprocess.run(
            [LDAPMODIFY, "-x", "-H", self.uri, "-D", self.admin_dn, "-w", self.admin_password],
            input=ldif.encode(),
            check=True,
            capture_output=True,
        )


SLAPD_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
pidfile {root}/slapd.pid
modulepath {modules}
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {root}/data
"""


def slapd_available() -> bool:
    return Path(SLAPD).exists() and (SCHEMA_DIR / "inetorgperson.schema").exists()


@contextmanager
def slapd(root: Path, ldif: str, *, base: str = "dc=example,dc=com") -> Iterator[Directory]:
    """Start slapd (never the system's instance) with `ldif` loaded, stop it afterwards."""
    admin_dn, admin_password = f"cn=admin,{base}", "admin-secret"
    (root / "data").mkdir(parents=True)
    conf = root / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(
            schema=SCHEMA_DIR,
            modules=MODULE_DIR,
            root=root,
            base=base,
            admin_dn=admin_dn,
            admin_password=admin_password,
        )
    )
    (root / "data.ldif").write_text(ldif)
    subprocess.run(
        [SLAPD.replace("slapd", "slapadd"), "-f", str(conf), "-l", str(root / "data.ldif")],
        check=True,
        capture_output=True,
    )
    port = free_port()
    uri = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", uri, "-d", "0"])
    try:
        wait_for_port(port)
        yield Directory(uri=uri, base=base, admin_dn=admin_dn, admin_password=admin_password)
    finally:
        process.terminate()
        process.wait(timeout=10)


PROVIDER_SITE = Path(__file__).with_name("provider_site")


@dataclass(frozen=True)
class Provider:
    url: str
    client_id: str
    client_secret: str
    root: Path

    def endpoint(self, path: str) -> str:
        return f"{self.url}/openid/{path}"

    def run(self, script: str) -> None:
        """Run Python in the provider site (to change a user's groups there, say)."""
        _provider_manage(self.root, "shell", "-c", script)


def _provider_manage(root: Path, *args: str, stdin: str = "") -> str:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "provider_site.settings",
        "PROVIDER_DB": str(root / "provider.sqlite3"),
        "PYTHONPATH": str(PROVIDER_SITE.parent),
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        input=stdin.encode(),
        capture_output=True,
        check=True,
        cwd=root,
    )
    return done.stdout.decode()


@contextmanager
def oidc_provider(root: Path, *, redirect_uri: str, setup_script: str) -> Iterator[Provider]:
    """A second Django site running django-oidc-provider on a spare port: its own database,
    signing key, users (made by `setup_script`) and one confidential client for us."""
    root.mkdir(parents=True, exist_ok=True)
    _provider_manage(root, "migrate", "--noinput", "-v", "0")
    _provider_manage(root, "creatersakey")
    client_id, client_secret = "changemgmt", "provider-test-secret"
    _provider_manage(
        root,
        "shell",
        "-c",
        setup_script
        + f"""
from oidc_provider.models import Client, ResponseType
client = Client.objects.create(
    name="Change approvals", client_id={client_id!r}, client_secret={client_secret!r},
    client_type="confidential", redirect_uris=[{redirect_uri!r}], require_consent=False,
    jwt_alg="RS256", scope=["openid", "email", "profile", "groups"],
)
client.response_types.add(ResponseType.objects.get(value="code"))
""",
    )
    port = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "provider_site.settings",
        "PROVIDER_DB": str(root / "provider.sqlite3"),
        "PYTHONPATH": str(PROVIDER_SITE.parent),
    }
    env.pop("DATABASE_URL", None)
    log = (root / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield Provider(
            url=f"http://127.0.0.1:{port}",
            client_id=client_id,
            client_secret=client_secret,
            root=root,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
